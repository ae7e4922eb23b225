import { basename } from 'node:path';
import { userConfigPath } from '../../shared/user-settings.js';
import { ErrorCodes, Methods } from '../../shared/protocol.js';
import { RpcError } from '../../shared/rpc.js';
import { loadEffectiveConfig, parseConfig } from '../../shared/config.js';
import { createLlmClient } from '../llm/client.js';
import { llmEnvironment, resolveLlmConfig } from '../llm/config.js';
import { generate } from '../reflexion/engine.js';
import type { EngineDeps } from '../reflexion/types.js';
import { makeVerifier } from '../repair/verify.js';
import { safeRelative } from '../pipeline/snapshot.js';
import { getCache } from '../services/cache.js';
import { getKnowledge } from '../services/knowledge.js';
import { defineHandler } from './types.js';

/*
 * `reflexgen generate`: the paper's own use of the method, served by the daemon because it owns the
 * knowledge base (which the loop reads and, on a verified repair, writes).
 */

const EXT = { python: 'py', c: 'c', cpp: 'cpp', javascript: 'js', typescript: 'ts' } as const;

/**
 * The verifier writes the candidate at this path under its temp dir, so it must stay inside:
 * a relative path without `..`/empty segments as given, else its last segment, else the default.
 */
export function confinedPath(given: string | undefined, fallback: string): string {
  if (!given) return fallback;
  return safeRelative(given) ?? safeRelative(basename(given)) ?? fallback;
}

export const generateHandler = defineHandler({
  ...Methods.generate,
  async handle(p, ctx) {
    if (!p.task && !p.incomplete) throw new RpcError(ErrorCodes.InvalidParams, 'give a task or an incomplete file');
    const loaded = await loadEffectiveConfig(p.repoRoot, { stateDir: ctx.daemon.stateDir }).catch((err: Error) => {
      throw new RpcError(ErrorCodes.ConfigError, err.message);
    });
    const llmConfig = resolveLlmConfig(loaded.config.llm ?? {}, llmEnvironment(p.llmEnv));
    if (!llmConfig) throw new RpcError(ErrorCodes.ConfigError, `no LLM configured: set llm.baseURL and llm.model in ${userConfigPath()} or REFLEXGEN_LLM_BASE_URL and REFLEXGEN_LLM_MODEL`);
    const path = confinedPath(p.path, `generated.${EXT[p.language]}`);
    const config = parseConfig({});
    let kb: Awaited<ReturnType<typeof getKnowledge>> | undefined;
    try {
      kb = await getKnowledge(ctx.daemon);
    } catch {
      kb = undefined;
    }
    const deps: EngineDeps = {
      llm: createLlmClient(llmConfig),
      retrieve: async (q, k) => (kb ? kb.retrieve({ text: q.text, code: q.code, language: q.language, cwe: q.cwe }, k) : []),
      verify: makeVerifier({ file: { path, absPath: path, language: p.language, content: '' }, config, cache: getCache(ctx.daemon), sameCapabilities: false }),
      learn: async (l, credited) => {
        if (kb) await kb.learn({ task: l.task, language: l.language, cwe: l.cwe, vulnerableCode: l.vulnerableCode, secureCode: l.secureCode, lesson: l.lesson, title: l.title, ...(loaded.llmFromRepo && p.repoRoot ? { repo: p.repoRoot } : {}) }, credited);
      },
      onProgress: (stage, message, iteration, max) => ctx.progress(stage, message, iteration, max),
    };
    const r = await generate({ language: p.language, task: p.task, incomplete: p.incomplete, path }, deps, { noReflect: p.noReflect, signal: ctx.signal });
    return {
      status: r.status,
      ...(r.code !== undefined ? { code: r.code } : {}),
      ...(r.y0 !== undefined ? { y0: r.y0 } : {}),
      initialFindings: r.initial?.findings ?? [],
      iterations: (r.trail?.iterations ?? []).map((it) => ({
        n: it.n,
        accepted: it.accepted,
        ...(it.verification ? { parses: it.verification.parses } : {}),
        findings: it.verification?.findings ?? [],
        feedback: it.feedback,
        knowledge: it.knowledge,
      })),
      knowledgeUsed: r.trail?.knowledgeUsed ?? [],
      tokens: r.tokens,
      seconds: Math.round(r.ms) / 1000,
      learned: r.trail?.learned ?? false,
      ...(r.error ? { error: r.error } : {}),
    };
  },
});

