import { red } from '../hook/ansi.js';
import { UserError, oneLine } from '../shared/errors.js';
import { ErrorCodes } from '../shared/protocol-constants.js';
import { RpcError } from '../shared/rpc.js';
import { cleanLine } from '../shared/terminal-text.js';

/**
 * How every command ends on an error: one line on stderr, exit 2. The daemon's verdict on bad input
 * (config, parameters) is the user's to fix, not an internal error.
 */
export function exitOnError(err: unknown): never {
  if (err instanceof UserError || (err instanceof Error && err.name === 'DaemonUnavailableError') || (err instanceof RpcError && (err.code === ErrorCodes.ConfigError || err.code === ErrorCodes.InvalidParams))) {
    process.stderr.write(red(`reflexgen: ${cleanLine(err.message)}`) + '\n');
    process.exit(2);
  }
  process.stderr.write(red(`reflexgen: internal error: ${cleanLine(oneLine(err))}`) + '\n');
  if (process.env.REFLEXGEN_DEBUG) console.error(err);
  process.exit(2);
}
