import { basename } from 'node:path';
import { z } from 'zod';
import { LANGUAGES, FindingSchema } from '../../shared/findings.js';
import { LlmConfigSchema } from '../../shared/llm-config.js';
import { ErrorCodes } from '../../shared/protocol.js';
import { RpcError } from '../../shared/rpc.js';
import { parseConfig } from '../../shared/config.js';
import { createLlmClient } from '../llm/client.js';
import { resolveLlmConfig } from '../llm/config.js';
import { generate } from '../reflexion/engine.js';
import type { EngineDeps } from '../reflexion/types.js';
import { llmEnvironment } from '../repair/stage.js';
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

export const GenerateParamsSchema = z.object({
  language: z.enum(LANGUAGES),
  task: z.string().optional(),
  incomplete: z.string().optional(),
  /** Where the code would live, for prompts and the verifier's temp copy (confined: see confinedPath). */
  path: z.string().max(4096).optional(),
  noReflect: z.boolean().default(false),
  llm: LlmConfigSchema.optional(),
  llmEnv: z.record(z.string(), z.string()).optional(),
});

const IterationSchema = z.object({
  n: z.number(),
  accepted: z.boolean(),
  parses: z.boolean().optional(),
  findings: z.array(FindingSchema),
  feedback: z.string(),
  knowledge: z.array(z.string()),
});

export const GenerateResultSchema = z.object({
  status: z.string(),
  code: z.string().optional(),
  y0: z.string().optional(),
  initialFindings: z.array(FindingSchema),
  iterations: z.array(IterationSchema),
  knowledgeUsed: z.array(z.string()),
  tokens: z.object({ prompt: z.number(), completion: z.number(), total: z.number() }),
  seconds: z.number(),
  learned: z.boolean(),
  error: z.string().optional(),
});
export type GenerateResultWire = z.infer<typeof GenerateResultSchema>;

/**
 * The verifier writes the candidate at this path under its temp dir, so it must stay inside:
 * a relative path without `..`/empty segments as given, else its last segment, else the default.
 */
export function confinedPath(given: string | undefined, fallback: string): string {
  if (!given) return fallback;
  return safeRelative(given) ?? safeRelative(basename(given)) ?? fallback;
}

export const generateHandler = defineHandler({
  params: GenerateParamsSchema,
  result: GenerateResultSchema,
  async handle(p, ctx) {
    if (!p.task && !p.incomplete) throw new RpcError(ErrorCodes.InvalidParams, 'give a task or an incomplete file');
    const llmConfig = resolveLlmConfig(p.llm ?? {}, llmEnvironment(p.llmEnv));
    if (!llmConfig) throw new RpcError(ErrorCodes.ConfigError, 'no LLM configured: set llm.baseURL and llm.model in .reflexgenrc.json or REFLEXGEN_LLM_BASE_URL and REFLEXGEN_LLM_MODEL');
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
      verify: makeVerifier({ file: { path, absPath: path, language: p.language, content: '' }, config, cache: getCache(ctx.daemon) }),
      learn: async (l, credited) => {
        if (kb) await kb.learn({ task: l.task, language: l.language, cwe: l.cwe, vulnerableCode: l.vulnerableCode, secureCode: l.secureCode, lesson: l.lesson, title: l.title }, credited);
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

