import type { Logger } from 'pino';
import type { DaemonPaths } from '../shared/paths.js';
import { buildVersion } from '../shared/version.js';
import type { DaemonContext } from './handlers/types.js';

/*
 * The one place the context handlers and the check pipeline run in is put together: the daemon's
 * server and the CLI's in-process mode (`reflexgen check --no-daemon`) both build it here, so the
 * two cannot drift apart in what a check sees (state dir, services, shutdown of the services).
 */

export interface ContextOptions {
  paths: DaemonPaths;
  log: Logger;
  idleExitMs: number;
  requestShutdown(): void;
}

export function createDaemonContext(opts: ContextOptions): DaemonContext {
  return {
    log: opts.log,
    stateDir: opts.paths.state,
    socketPath: opts.paths.socket,
    startedAt: new Date(),
    version: buildVersion(),
    repos: new Set(),
    checks: { running: 0, done: 0 },
    idleExitMs: opts.idleExitMs,
    requestShutdown: opts.requestShutdown,
    // Services open lazily on first use; CodeQL's background runs are here from the start so that
    // closing the context always cancels them (its module loads only then: not before the socket answers).
    services: { codeql: { close: async () => (await import('./analyzers/codeql.js')).cancelCodeqlRuns() } },
  };
}

/** Closes every service that has a `close` (knowledge base counters, CodeQL runs), errors ignored. */
export async function closeServices(ctx: DaemonContext): Promise<void> {
  for (const service of Object.values(ctx.services)) {
    const closeFn = (service as { close?: () => Promise<void> | void } | undefined)?.close;
    if (typeof closeFn === 'function') await Promise.resolve(closeFn.call(service)).catch(() => undefined);
  }
}
