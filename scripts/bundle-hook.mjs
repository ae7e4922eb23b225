// Bundles the hook into one file (dist/hook/hook.mjs): with no dependencies left on its path, what
// remains of its start-up cost is resolving and loading a dozen small modules, which one file avoids.
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('../dist/hook/main.js', import.meta.url).pathname],
  outfile: new URL('../dist/hook/hook.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Packages stay external: the only one the hook can load is proper-lockfile, on the slow path
  // that starts a daemon.
  packages: 'external',
  logLevel: 'warning',
});
