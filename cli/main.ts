#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import pc from 'picocolors';
import { UserError, oneLine } from '../shared/errors.js';
import { RpcError } from '../shared/rpc.js';
import { ErrorCodes } from '../shared/protocol.js';
import { cleanLine } from '../shared/terminal-text.js';
import { registerCoreCommands } from './commands.js';
import { registerBaselineCommand } from './baseline.js';
import { registerKbCommands } from './kb.js';
import { registerModelsCommands } from './models.js';
import { registerGenerateCommand } from './generate.js';
import { registerEvalCommand } from './eval.js';
import { registerTrustCommand } from './trust.js';

/*
 * `reflexgen`: one entry for every command. Exit codes: 0 ok/pass, 1 blocked, 2 usage or
 * internal error; errors are printed as one line.
 */

const program = new Command();
program
  .name('reflexgen')
  .description('Security gate for git commits: analyzers + knowledge base + LLM reflection (RefleXGen)')
  .showHelpAfterError(false)
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(pc.red(str.trim().split('\n')[0]) + '\n') });

await registerCoreCommands(program);
registerBaselineCommand(program);
registerKbCommands(program);
registerModelsCommands(program);
registerGenerateCommand(program);
registerEvalCommand(program);
registerTrustCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit through here with code 0.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  // The daemon's verdict on bad input (config, parameters) is the user's to fix, not an internal error.
  if (err instanceof UserError || (err instanceof RpcError && (err.code === ErrorCodes.ConfigError || err.code === ErrorCodes.InvalidParams))) {
    process.stderr.write(pc.red(`reflexgen: ${cleanLine(err.message)}`) + '\n');
    process.exit(2);
  }
  process.stderr.write(pc.red(`reflexgen: internal error: ${cleanLine(oneLine(err))}`) + '\n');
  if (process.env.REFLEXGEN_DEBUG) console.error(err);
  process.exit(2);
}
