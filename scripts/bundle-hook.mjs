// Bundles the hook into one CommonJS file, dist/hook/hook.cjs, the file git runs. One file instead
// of a dozen modules avoids module resolution, and CommonJS avoids the ES module loader, which
// alone costs a Node process about 10 ms of start-up; every package stays external (the hook
// loads none on its warm path). Code only a miss needs (reading the change with git, starting a
// daemon, applying repairs) is in the same file but initialized only when first imported.
// dist/hook/hook.mjs stays as a one-line shim for hooks installed by earlier versions.
import { writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const out = (name) => new URL(`../dist/hook/${name}`, import.meta.url).pathname;
await build({
  entryPoints: [out('main.js')],
  outfile: out('hook.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  // Fewer bytes to parse at every start; names stay, so an internal error still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  // The sources are ES modules that find the package from their own location.
  define: { 'import.meta.url': '__reflexgenHookUrl' },
  banner: { js: 'const __reflexgenHookUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: 'warning',
});
writeFileSync(out('hook.mjs'), '#!/usr/bin/env node\n// Hooks installed by reflexgen before 0.1.0 run this file; new ones run hook.cjs directly.\nimport \'./hook.cjs\';\n');
