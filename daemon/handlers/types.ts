import type { z } from 'zod';
import type { Logger } from 'pino';
import type { KnowledgeBase } from '../../knowledge/index.js';
import type { ResultCache } from '../pipeline/cache.js';
import type { BlobMemory } from '../pipeline/snapshot.js';
import type { VerdictMemo } from '../pipeline/verdict-memo.js';
import type { RepoWatcher } from '../watcher.js';

/**
 * What the daemon keeps between requests, each opened by its getter on first use (services/,
 * pipeline/verdict-memo.ts, watcher.ts). Anything with a `close` is closed when the daemon stops.
 */
export interface DaemonServices {
  cache?: ResultCache;
  blobs?: BlobMemory;
  verdicts?: VerdictMemo;
  watcher?: RepoWatcher;
  knowledge?: KnowledgeBase;
  /** A first open in progress, shared by concurrent first callers. */
  knowledgeOpening?: Promise<KnowledgeBase>;
  codeql?: { close(): Promise<void> | void };
}

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
  /** Lazily opened shared services; handlers call their getters instead of owning state. */
  services: DaemonServices;
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
