import { CheckParamsSchema, CheckResultSchema } from '../../shared/protocol.js';
import { runCheck } from '../pipeline/check.js';
import { defineHandler } from './types.js';

export const checkHandler = defineHandler({
  params: CheckParamsSchema,
  result: CheckResultSchema,
  async handle(params, ctx) {
    ctx.daemon.repos.add(params.repoRoot);
    ctx.daemon.checks.running++;
    try {
      return await runCheck(params, ctx);
    } finally {
      ctx.daemon.checks.running--;
      ctx.daemon.checks.done++;
    }
  },
});
