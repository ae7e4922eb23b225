import { z } from 'zod';
import { PROTOCOL_VERSION } from '../../shared/version.js';
import { StatusResultSchema, ShutdownResultSchema } from '../../shared/protocol.js';
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
