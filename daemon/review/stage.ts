import type { Config } from '../../shared/config.js';
import type { Finding } from '../../shared/findings.js';
import type { CheckParams } from '../../shared/protocol.js';
import type { SourceFile } from '../analyzers/types.js';
import { createLlmClient, type LlmClient } from '../llm/client.js';
import { llmEnvironment, resolveLlmConfig } from '../llm/config.js';
import type { Verification } from '../reflexion/types.js';
import { MODEL_REVIEW_TOOL, ReviewCache, reviewChange } from './model-review.js';

/*
 * Where the model's own review meets the check: after the analyzers, before the verdict, on the
 * functions the change touches; and again inside repair verification, so a finding the model
 * named is only "repaired" when the model no longer names it.
 */

/** One daemon-wide memory of answers: a function reviewed at `git add` time is not reviewed again. */
const cache = new ReviewCache();

/** At most this share of the LLM budget goes to reviewing; the rest is for repairs. */
const REVIEW_SHARE = 0.4;

/*
 * The model variables the last check of each repository brought, in memory only: the watcher uses
 * them to review a change in the background right after `git add`, so the commit finds the answers
 * cached. They came from the same user's shell for that repository; the daemon's own environment is
 * still never used.
 */
const lastLlmEnv = new Map<string, Record<string, string>>();
const MAX_REMEMBERED = 64;

/** The model variables the last hook or CLI check of this repository forwarded, if any. */
export function rememberedLlmEnv(repoRoot: string): Record<string, string> | undefined {
  return lastLlmEnv.get(repoRoot);
}

function remember(repoRoot: string, env: Record<string, string> | undefined): void {
  if (!env) return;
  lastLlmEnv.delete(repoRoot);
  lastLlmEnv.set(repoRoot, env);
  while (lastLlmEnv.size > MAX_REMEMBERED) lastLlmEnv.delete(lastLlmEnv.keys().next().value!);
}

export function reviewClient(config: Config, params: Pick<CheckParams, 'llmEnv'>): LlmClient | undefined {
  if (config.modelReview === 'off') return undefined;
  try {
    const llm = resolveLlmConfig(config.llm ?? {}, llmEnvironment(params.llmEnv));
    return llm ? createLlmClient(llm) : undefined;
  } catch {
    return undefined; // a bad llm section is reported by the repair stage
  }
}

export async function reviewStagedChange(
  files: SourceFile[],
  params: CheckParams,
  config: Config,
  signal?: AbortSignal,
): Promise<{ findings: Finding[]; notices: string[] }> {
  remember(params.repoRoot, params.llmEnv);
  const llm = reviewClient(config, params);
  if (!llm || config.modelReview === 'off') return { findings: [], notices: [] };
  const added = new Map(params.files.map((f) => [f.path, f.addedLines]));
  const targets = files.filter((f) => added.has(f.path)).map((f) => ({ path: f.path, language: f.language, content: f.content, addedLines: added.get(f.path)! }));
  const deadline = Date.now() + Math.round(llm.config.budgetMs * REVIEW_SHARE);
  return reviewChange(targets, { llm, mode: config.modelReview, deadline, signal, cache });
}

/** Wraps a verifier: when a repair targets model-review findings, the model reviews the candidate too. */
export function withModelReview(
  verify: (content: string, signal?: AbortSignal) => Promise<Verification>,
  file: SourceFile,
  targets: Finding[],
  config: Config,
  llm: LlmClient | undefined,
  deadline: number,
): (content: string, signal?: AbortSignal) => Promise<Verification> {
  if (!llm || config.modelReview === 'off' || !targets.some((t) => t.tool === MODEL_REVIEW_TOOL)) return verify;
  return async (content, signal) => {
    const v = await verify(content, signal);
    const r = await reviewChange([{ path: file.path, language: file.language, content, addedLines: 'all' }], { llm, mode: config.modelReview === 'block' ? 'block' : 'note', deadline, signal, cache });
    return { ...v, findings: [...v.findings, ...r.findings] };
  };
}
