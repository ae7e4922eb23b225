#!/usr/bin/env node
import { normalizeColorEnv } from '../hook/ansi.js';
import { exitOnError } from './fail.js';

/*
 * `reflexgen`: one entry for every command. Exit codes: 0 ok/pass, 1 blocked, 2 usage or
 * internal error; errors are printed as one line.
 *
 * Start-up matters: lint-staged and pre-commit start this on every commit. Only the module of the
 * command being run is loaded (the others pull in zod, the analyzers, the eval harness), and
 * `--version` answers before commander loads.
 */

// Before picocolors loads: it reads these variables once, with simpler rules than the specs.
normalizeColorEnv(process.env);

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { buildVersion } = await import('../shared/version.js');
  process.stdout.write(`${buildVersion()}\n`);
  process.exit(0);
}

type Register = (program: import('commander').Command) => void | Promise<void>;

const CORE = ['init', 'check', 'apply', 'undo', 'daemon', 'doctor'];
const MODULES: Record<string, () => Promise<Register>> = {
  baseline: async () => (await import('./baseline.js')).registerBaselineCommand,
  kb: async () => (await import('./kb.js')).registerKbCommands,
  models: async () => (await import('./models.js')).registerModelsCommands,
  generate: async () => (await import('./generate.js')).registerGenerateCommand,
  eval: async () => (await import('./eval.js')).registerEvalCommand,
  trust: async () => (await import('./trust.js')).registerTrustCommand,
};

const [{ Command, CommanderError }, { default: pc }] = await Promise.all([import('commander'), import('picocolors')]);

const program = new Command();
program
  .name('reflexgen')
  .description('Security gate for git commits: analyzers + knowledge base + LLM reflection (RefleXGen)')
  .showHelpAfterError(false)
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(pc.red(str.trim().split('\n')[0]) + '\n') });

// The first word that is not an option names the command; help, a typo or no command needs them all.
const name = argv.find((a) => !a.startsWith('-'));
const { registerCoreCommands } = await import('./commands.js');
await registerCoreCommands(program);
if (name === undefined || !CORE.includes(name)) {
  const wanted = name !== undefined && MODULES[name] ? [MODULES[name]] : Object.values(MODULES);
  for (const load of wanted) await (await load())(program);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit through here with code 0.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  exitOnError(err);
}
