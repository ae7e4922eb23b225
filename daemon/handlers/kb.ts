import { z } from 'zod';
import { EntryInputSchema, SOURCES } from '../../knowledge/index.js';
import { getKnowledge } from '../services/knowledge.js';
import { defineHandler } from './types.js';

const Cwe = z.array(z.string());
const EntrySchema = z.object({
  id: z.string(),
  title: z.string(),
  cwe: Cwe,
  language: z.string(),
  description: z.string().optional(),
  vulnerableCode: z.string().optional(),
  secureCode: z.string().optional(),
  lesson: z.string(),
  task: z.string().optional(),
  rules: z.array(z.string()).optional(),
  tags: z.array(z.string()).optional(),
  source: z.enum(SOURCES),
  retrieved: z.number(),
  helped: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  repo: z.string().optional(),
});

const HitSchema = z.object({
  id: z.string(),
  title: z.string(),
  cwe: Cwe,
  language: z.string(),
  lesson: z.string(),
  secureCode: z.string().optional(),
  vulnerableCode: z.string().optional(),
  source: z.enum(SOURCES),
  score: z.number(),
  parts: z.record(z.string(), z.number()).optional(),
});

const ListParams = z
  .object({ source: z.enum(SOURCES).optional(), cwe: z.string().optional(), language: z.string().optional(), limit: z.number().int().positive().optional() })
  .default({});

export const kbSearch = defineHandler({
  params: z.object({
    query: z.string().min(1),
    code: z.string().optional(),
    language: z.string().optional(),
    cwe: z.array(z.string()).optional(),
    repoRoot: z.string().optional(),
    k: z.number().int().min(1).max(100).default(5),
    explain: z.boolean().default(false),
  }),
  result: z.array(HitSchema),
  async handle(p, { daemon }) {
    const kb = await getKnowledge(daemon);
    // Searching from the CLI is a person looking, not the engine using knowledge: do not count it.
    const scored = await kb.retrieveScored({ text: p.query, code: p.code, language: p.language, cwe: p.cwe, repoRoot: p.repoRoot }, p.k, { count: false });
    return scored.map((s) => {
      const e = s.entry;
      return {
        id: e.id,
        title: e.title,
        cwe: e.cwe,
        language: e.language,
        lesson: e.lesson,
        ...(e.secureCode !== undefined ? { secureCode: e.secureCode } : {}),
        ...(e.vulnerableCode !== undefined ? { vulnerableCode: e.vulnerableCode } : {}),
        source: e.source,
        score: Math.round(s.score * 1e4) / 1e4,
        ...(p.explain ? { parts: s.parts } : {}),
      };
    });
  },
});

export const kbList = defineHandler({
  params: ListParams,
  result: z.array(EntrySchema),
  async handle(p, { daemon }) {
    return (await getKnowledge(daemon)).list(p);
  },
});

export const kbAdd = defineHandler({
  params: z.object({ entry: EntryInputSchema }),
  result: EntrySchema,
  async handle(p, { daemon }) {
    return (await getKnowledge(daemon)).add(p.entry);
  },
});

export const kbRemove = defineHandler({
  params: z.object({ id: z.string().min(1) }),
  result: z.object({ removed: z.boolean() }),
  async handle(p, { daemon }) {
    return { removed: await (await getKnowledge(daemon)).remove(p.id) };
  },
});

export const kbExport = defineHandler({
  params: ListParams,
  result: z.object({ jsonl: z.string(), count: z.number().int() }),
  async handle(p, { daemon }) {
    const kb = await getKnowledge(daemon);
    const entries = kb.export(p);
    return { jsonl: entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : ''), count: entries.length };
  },
});

export const kbImport = defineHandler({
  params: z.object({ jsonl: z.string(), source: z.enum(['starter', 'repair', 'manual']).optional() }),
  result: z.object({ added: z.number().int(), updated: z.number().int(), errors: z.array(z.object({ line: z.number().int(), message: z.string() })) }),
  async handle(p, { daemon }) {
    return (await getKnowledge(daemon)).import(p.jsonl, { source: p.source });
  },
});

export const kbStats = defineHandler({
  params: z.object({ repoRoot: z.string().optional() }).default({}),
  result: z.object({
    total: z.number().int(),
    bySource: z.record(z.string(), z.number()),
    byCwe: z.record(z.string(), z.number()),
    byLanguage: z.record(z.string(), z.number()),
    embeddings: z.object({ model: z.string().nullable(), dim: z.number().nullable(), lexicalOnly: z.boolean(), reason: z.string().optional() }),
    starterVersion: z.number().nullable(),
    teamRepos: z.array(z.string()),
  }),
  async handle(p, { daemon }) {
    const kb = await getKnowledge(daemon);
    if (p.repoRoot) await kb.loadTeamKnowledge(p.repoRoot).catch(() => undefined);
    return kb.stats();
  },
});
