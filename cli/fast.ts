#!/usr/bin/env node
import { buildVersion } from '../shared/version.js';
import { parseCheckArgs } from './check-args.js';

/*
 * The `reflexgen` program: the start-up fast path, bundled (dist/cli/reflexgen.mjs and, for `check`,
 * dist/cli/fast-check.mjs, by scripts/bundle-cli.mjs) like the hook. lint-staged and the pre-commit framework start
 * `reflexgen check --staged` on every commit, so `--version` and a well-formed `check` run here
 * without commander, zod or picocolors and without resolving dozens of modules. Everything else
 * (another command, --help, a usage error, which commander words better) goes to the full CLI,
 * dist/cli/main.js, unbundled.
 */

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${buildVersion()}\n`);
    return;
  }
  if (argv[0] === 'check') {
    // A bundle of its own (see cli/fast-check.ts), by URL so this file's bundle leaves it out.
    const bundle = new URL('./fast-check.mjs', import.meta.url).href;
    const { checkCommand, exitOnError } = (await import(bundle)) as typeof import('./fast-check.js');
    const check = parseCheckArgs(argv.slice(1));
    if (check) {
      try {
        await checkCommand(check.paths, check.opts);
      } catch (err) {
        exitOnError(err);
      }
      return;
    }
  }
  // Not resolvable by the bundler on purpose: the full CLI stays its own, unbundled module.
  const full = new URL('./main.js', import.meta.url).href;
  await import(full);
}

await main();
