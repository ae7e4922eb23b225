import { daemonPaths, ensurePrivateDir, type DaemonPaths } from '../shared/paths.js';
import { describeZodError } from '../shared/config.js';
import { CheckParamsSchema, CheckResultSchema, ErrorCodes, type CheckParams, type CheckResult, type ProgressParams } from '../shared/protocol.js';
import { RpcError } from '../shared/rpc.js';
import { closeServices, createDaemonContext } from './context.js';
import { createLogger } from './log.js';
import { runCheck } from './pipeline/check.js';
import type { RequestContext } from './handlers/types.js';

/*
 * The daemon's check, run inside the calling process (`reflexgen check --no-daemon`, and CI by
 * default). It is the same composition as the daemon's: the context from createDaemonContext, the
 * request checked against the protocol's schema, runCheck (configuration with the trust rules,
 * the analyzers, suppressions, baseline, guidance and repair, decide()) and the result checked
 * against the schema the server checks it with. What it leaves out is what a one-shot run must not
 * leave behind: no socket, no token, no pid file, no watcher; every service it opened is closed
 * before it returns.
 */

export interface InProcessOptions {
  env?: NodeJS.ProcessEnv;
  onProgress?: (p: ProgressParams) => void;
  /** Cancels the analyzers' child processes (the CLI aborts it on SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

export async function checkInProcess(request: CheckParams, opts: InProcessOptions = {}): Promise<CheckResult> {
  const parsed = CheckParamsSchema.safeParse(request);
  if (!parsed.success) throw new RpcError(ErrorCodes.InvalidParams, describeZodError('check', parsed.error));
  const paths = daemonPaths(opts.env);
  // What the daemon creates in the state dir is private (it runs with umask 077); so is what this
  // run creates there. Restored afterwards: a repair applied to the repository keeps the user's umask.
  const umask = process.umask(0o077);
  try {
    return await checkWith(parsed.data, paths, opts);
  } finally {
    process.umask(umask);
  }
}

async function checkWith(params: CheckParams, paths: DaemonPaths, opts: InProcessOptions): Promise<CheckResult> {
  // The state dir holds what a check reads besides the repository: trust records, the analyzer
  // result cache and the knowledge base. The daemon's log file gets this run's log lines (with
  // their pid), so `daemon.log` stays the one place to look.
  ensurePrivateDir(paths.state);
  const log = createLogger(paths.log);
  const daemon = createDaemonContext({ paths, log, idleExitMs: 0, requestShutdown: () => undefined });
  const controller = new AbortController();
  const forward = () => controller.abort();
  opts.signal?.addEventListener('abort', forward, { once: true });
  if (opts.signal?.aborted) controller.abort();
  const ctx: RequestContext = {
    daemon,
    requestId: 1,
    signal: controller.signal,
    progress: (stage, message, done, total) => opts.onProgress?.({ requestId: 1, stage, message, done, total }),
  };
  const started = performance.now();
  daemon.repos.add(params.repoRoot);
  daemon.checks.running++;
  try {
    const result = await runCheck(params, ctx);
    const checked = CheckResultSchema.safeParse(result);
    if (!checked.success) throw new Error(describeZodError('check result', checked.error));
    log.info({ method: 'check', inProcess: true, ms: Math.round(performance.now() - started) }, 'request done');
    return checked.data;
  } catch (err) {
    if (!(err instanceof RpcError)) log.error({ err, method: 'check', inProcess: true }, 'request failed');
    throw err;
  } finally {
    daemon.checks.running--;
    daemon.checks.done++;
    opts.signal?.removeEventListener('abort', forward);
    await closeServices(daemon);
  }
}
