import { join } from 'node:path';
import { CheckParamsSchema, CheckResultSchema, Methods, VerdictParamsSchema, type CheckParams, type CheckResult } from '../../shared/protocol.js';
import { runCheck } from '../pipeline/check.js';
import { getVerdictMemo, identityOf, memoizable, memoKey, policyFingerprint, type VerdictMemo } from '../pipeline/verdict-memo.js';
import { getWatcher } from '../watcher.js';
import { defineHandler } from './types.js';

export const checkHandler = defineHandler({
  params: CheckParamsSchema,
  result: CheckResultSchema,
  async handle(params, ctx) {
    ctx.daemon.repos.add(params.repoRoot);
    const gitDir = params.gitDir ?? join(params.repoRoot, '.git');
    if (params.mode === 'staged') getWatcher(ctx.daemon).watch({ root: params.repoRoot, gitDir });
    const memo = params.mode === 'staged' && params.index ? await policyFingerprint(params.repoRoot, ctx.daemon.stateDir).catch(() => undefined) : undefined;
    ctx.daemon.checks.running++;
    try {
      const result = await runCheck(params, ctx);
      if (memo) await remember(params, gitDir, memo, result, ctx.daemon.stateDir, getVerdictMemo(ctx.daemon));
      return result;
    } finally {
      ctx.daemon.checks.running--;
      ctx.daemon.checks.done++;
    }
  },
});

/**
 * Keeps the verdict for the index the hook read, when the file still ends with the checksum the
 * hook saw before reading the change (nothing was staged since) and the policy did not move.
 */
async function remember(
  params: CheckParams,
  gitDir: string,
  policyBefore: string,
  result: CheckResult,
  stateDir: string,
  memo: VerdictMemo,
): Promise<void> {
  if (!params.index || !memoizable(result)) return;
  const id = identityOf(gitDir, params.index.file);
  if (!id || id.checksum !== params.index.checksum) return;
  const policy = await policyFingerprint(params.repoRoot, stateDir).catch(() => undefined);
  if (policy !== policyBefore) return;
  memo.set(memoKey(params.repoRoot, gitDir, id, params.llmEnv), policy, result);
}

/**
 * The hook's first question. A hit costs reading the index and HEAD and the repository's config;
 * no git process, no analyzer. A miss is an empty answer: the hook then sends the change.
 */
export const verdictHandler = defineHandler({
  params: VerdictParamsSchema,
  result: Methods.verdict.result,
  async handle(params, ctx) {
    const t0 = performance.now();
    const id = identityOf(params.gitDir, params.index.file);
    if (!id) return {};
    const memo = getVerdictMemo(ctx.daemon);
    const policy = await policyFingerprint(params.repoRoot, ctx.daemon.stateDir).catch(() => undefined);
    const hit = policy ? memo.get(memoKey(params.repoRoot, params.gitDir, id, params.llmEnv), policy) : undefined;
    if (!hit) return {};
    ctx.daemon.checks.done++;
    return { result: { ...hit, timings: { totalMs: Math.round(performance.now() - t0), memoized: 1 } } };
  },
});
