// Bundles the hook into dist/hook/hook.mjs, the file git runs, plus chunks it loads only when
// needed: a commit whose verdict the daemon already knows evaluates the entry alone (the daemon
// client, the validators and the report); reading the change with git, starting a daemon and
// applying repairs come from dist/hook/chunks/ on a miss. One file instead of a dozen modules
// avoids module resolution, which is most of what a small ESM program spends starting.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = new URL('../dist/hook/', import.meta.url).pathname;
rmSync(new URL('chunks/', `file://${outdir}`).pathname, { recursive: true, force: true });
await build({
  entryPoints: { hook: new URL('../dist/hook/main.js', import.meta.url).pathname },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Packages stay external: the only one the hook can load is proper-lockfile, on the slow path
  // that starts a daemon.
  packages: 'external',
  logLevel: 'warning',
});
