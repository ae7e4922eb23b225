import { readConfigHints } from '../shared/config-hints.js';
import { UserError, oneLine } from '../shared/errors.js';
import { languageOf } from '../shared/languages.js';
import { ErrorCodes } from '../shared/protocol-constants.js';
import { RpcError } from '../shared/rpc.js';
import { collectChanges, indexTree, llmEnv, type CheckRun, type RunCheckOptions } from '../hook/run-check.js';

/*
 * `reflexgen check` in this process: see daemon/in-process.ts for what runs, and
 * cli/check-mode.ts for when.
 */

/**
 * The in-process twin of runCheckViaDaemon (hook/run-check.ts): the same change collection and
 * the same failMode rule when the check cannot run; only the transport differs.
 */
export async function runCheckInProcess(opts: RunCheckOptions): Promise<CheckRun> {
  const treeBefore = opts.mode === 'staged' ? await indexTree(opts.cwd) : undefined;
  const { root, gitDir, files } = await collectChanges(opts);
  const hints = await readConfigHints(root);
  if (!files.some((f) => f.status !== 'D' && !f.binary && languageOf(f.path))) {
    return {
      failMode: hints.failMode,
      root,
      gitDir,
      result: { verdict: 'pass', findings: [], preExisting: 0, suppressed: 0, analyzers: [], notices: [], timings: { totalMs: 0 } },
    };
  }
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
    const { checkInProcess } = await import('../daemon/in-process.js');
    const mode = opts.mode === 'staged' ? 'staged' : 'paths';
    const result = await checkInProcess(
      { repoRoot: root, gitDir, mode, files, llmEnv: llmEnv(hints.apiKeyEnv) },
      { onProgress: opts.onProgress, signal: controller.signal },
    );
    const indexChanged = treeBefore !== undefined && (await indexTree(opts.cwd)) !== treeBefore;
    return { result, failMode: hints.failMode, root, gitDir, ...(indexChanged ? { indexChanged } : {}) };
  } catch (err) {
    if (err instanceof RpcError && err.code === ErrorCodes.ConfigError) throw new UserError(err.message);
    // As with the daemon, a check that could not run is decided by failMode, with the reason printed.
    return { unavailable: oneLine(err), failMode: hints.failMode };
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    // Interrupted: no verdict, and not failMode's to decide either.
    if (interrupted !== undefined) process.exit(interrupted);
  }
}
