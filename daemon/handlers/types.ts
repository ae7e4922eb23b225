import type { z } from 'zod';
import type { Logger } from 'pino';

/** What a request handler may use of the daemon. Grows as components are added (knowledge, engine). */
export interface DaemonContext {
  log: Logger;
  stateDir: string;
  socketPath: string;
  startedAt: Date;
  version: string;
  /** Repos the daemon has served, most recent last. */
  repos: Set<string>;
  checks: { running: number; done: number };
  idleExitMs: number;
  /** Asks the daemon to stop after the current response is written. */
  requestShutdown(): void;
  /** Lazily opened shared services; handlers call these instead of owning state. */
  services: Record<string, unknown>;
}

export interface RequestContext {
  daemon: DaemonContext;
  requestId: string | number;
  /** Sends a `progress` notification for this request to the client that asked. */
  progress(stage: string, message: string, done?: number, total?: number): void;
  /** Aborted when the client disconnects. */
  signal: AbortSignal;
}

export interface Handler<P = unknown, R = unknown> {
  params: z.ZodType<P>;
  result: z.ZodType<R>;
  handle(params: P, ctx: RequestContext): Promise<R>;
}

export function defineHandler<P, R>(h: Handler<P, R>): Handler<P, R> {
  return h;
}
