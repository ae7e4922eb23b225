import { z } from 'zod';
import { PROTOCOL_VERSION } from '../../shared/version.js';
import { StatusResultSchema, ShutdownResultSchema, WatchParamsSchema, WatchResultSchema } from '../../shared/protocol.js';
import { getCache } from '../services/cache.js';
import { getWatcher } from '../watcher.js';
import { getVerdictMemo } from '../pipeline/verdict-memo.js';
import { defineHandler } from './types.js';

export const statusHandler = defineHandler({
  params: z.object({}).optional(),
  result: StatusResultSchema,
  async handle(_params, { daemon }) {
    const mem = process.memoryUsage();
    return {
      pid: process.pid,
      version: daemon.version,
      protocolVersion: PROTOCOL_VERSION,
      startedAt: daemon.startedAt.toISOString(),
      uptimeMs: Date.now() - daemon.startedAt.getTime(),
      socket: daemon.socketPath,
      stateDir: daemon.stateDir,
      repos: [...daemon.repos],
      checks: { ...daemon.checks },
      memory: { rss: mem.rss, heapUsed: mem.heapUsed },
      idleExitMs: daemon.idleExitMs,
      watcher: { ...getWatcher(daemon).stats },
      cache: (() => {
        const c = getCache(daemon).stats;
        const lookups = c.hits + c.misses;
        return { ...c, hitRate: lookups ? c.hits / lookups : 0 };
      })(),
      verdicts: (() => {
        const v = getVerdictMemo(daemon);
        return { hits: v.hits, misses: v.misses, entries: v.size };
      })(),
    };
  },
});

export const shutdownHandler = defineHandler({
  params: z.object({}).optional(),
  result: ShutdownResultSchema,
  async handle(_params, { daemon }) {
    daemon.requestShutdown();
    return { ok: true as const };
  },
});

export const watchHandler = defineHandler({
  params: WatchParamsSchema,
  result: WatchResultSchema,
  async handle(params, { daemon }) {
    getWatcher(daemon).watch({ root: params.repoRoot, gitDir: params.gitDir });
    return { watching: daemon.repos.has(params.repoRoot) };
  },
});
