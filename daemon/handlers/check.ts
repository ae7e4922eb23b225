import { CheckParamsSchema, CheckResultSchema } from '../../shared/protocol.js';
import { runCheck } from '../pipeline/check.js';
import { defineHandler } from './types.js';
import { join } from 'node:path';
import { getWatcher } from '../watcher.js';

export const checkHandler = defineHandler({
  params: CheckParamsSchema,
  result: CheckResultSchema,
  async handle(params, ctx) {
    ctx.daemon.repos.add(params.repoRoot);
    if (params.mode === 'staged') getWatcher(ctx.daemon).watch({ root: params.repoRoot, gitDir: params.gitDir ?? join(params.repoRoot, '.git') });
    ctx.daemon.checks.running++;
    try {
      return await runCheck(params, ctx);
    } finally {
      ctx.daemon.checks.running--;
      ctx.daemon.checks.done++;
    }
  },
});
