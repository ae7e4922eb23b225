import { oneLine } from '../shared/errors.js';
import { RpcError } from '../shared/rpc.js';
import { CheckUnavailableError, runCheckWith, type CheckRun, type RunCheckOptions } from '../hook/run-check.js';

/*
 * `reflexgen check` in this process: see daemon/in-process.ts for what runs, and
 * cli/check-mode.ts for when.
 */

/**
 * The same collection, index guard and failMode rule as a daemon check (runCheckWith in
 * hook/run-check.ts); only the transport differs.
 */
export async function runCheckInProcess(opts: RunCheckOptions): Promise<CheckRun> {
  const controller = new AbortController();
  // A cancelled CI job (SIGTERM) or ^C stops the analyzers' processes before this one exits.
  let interrupted: number | undefined;
  const stop = (sig: NodeJS.Signals) => {
    interrupted = sig === 'SIGINT' ? 130 : 143;
    controller.abort();
    setTimeout(() => process.exit(interrupted), 2000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await runCheckWith(opts, async (params, onProgress) => {
      const { checkInProcess } = await import('../daemon/in-process.js');
      try {
        return await checkInProcess(params, { onProgress, signal: controller.signal });
      } catch (err) {
        // As with the daemon, a check that could not run is decided by failMode, with the reason printed.
        if (err instanceof RpcError) throw err;
        throw new CheckUnavailableError(oneLine(err));
      }
    });
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    // Interrupted: no verdict, and not failMode's to decide either.
    if (interrupted !== undefined) process.exit(interrupted);
  }
}
