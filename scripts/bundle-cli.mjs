// Bundles the CLI's start-up fast path: cli/fast.ts (--version, and routing) into
// dist/cli/reflexgen.mjs, the `reflexgen` bin, and cli/fast-check.ts (`check`) into
// dist/cli/fast-check.mjs, which the first loads only for `check`. lint-staged and pre-commit start
// `reflexgen check --staged` on every commit, and loading two files instead of resolving dozens of
// modules is most of what is left to save. Every other command loads the unbundled dist/cli/main.js.
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' };
const dist = (p) => new URL(`../dist/${p}`, import.meta.url).pathname;

await Promise.all([
  build({ ...common, entryPoints: [dist('cli/fast.js')], outfile: dist('cli/reflexgen.mjs') }),
  build({ ...common, entryPoints: [dist('cli/fast-check.js')], outfile: dist('cli/fast-check.mjs') }),
]);
