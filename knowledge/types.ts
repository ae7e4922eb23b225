import { z } from 'zod';

import { KNOWLEDGE_SOURCES } from '../shared/protocol.js';

/** Where an entry came from; the wire contract owns the list. */
export const SOURCES = KNOWLEDGE_SOURCES;
export type Source = (typeof SOURCES)[number];

/** "89", "cwe-89", "CWE 89" -> "CWE-89"; anything else is rejected. */
export function normalizeCwe(raw: string | number): string | undefined {
  const m = /^\s*(?:cwe[\s_-]*)?0*(\d{1,5})\s*$/i.exec(String(raw));
  return m ? `CWE-${m[1]}` : undefined;
}

const LANGUAGE_ALIASES: Record<string, string> = {
  py: 'python', python: 'python', python3: 'python',
  c: 'c', h: 'c',
  cc: 'cpp', cpp: 'cpp', cxx: 'cpp', hpp: 'cpp', hh: 'cpp', 'c++': 'cpp',
  js: 'javascript', jsx: 'javascript', mjs: 'javascript', cjs: 'javascript', javascript: 'javascript', node: 'javascript',
  ts: 'typescript', tsx: 'typescript', mts: 'typescript', cts: 'typescript', typescript: 'typescript',
  any: 'any', '': 'any', '*': 'any',
};

/** Canonical language id; unknown languages are kept lowercased so nothing is lost. */
export function normalizeLanguage(raw: string | undefined): string {
  const k = (raw ?? '').trim().toLowerCase().replace(/^\./, '');
  return LANGUAGE_ALIASES[k] ?? k;
}

/** Languages whose lessons carry over to each other (C lessons apply to C++ and so on). */
export function languageFamily(lang: string): string {
  if (lang === 'c' || lang === 'cpp') return 'c-family';
  if (lang === 'javascript' || lang === 'typescript') return 'js-family';
  return lang;
}

const CweList = z
  .union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))])
  .transform((v, ctx) => {
    const raw = Array.isArray(v) ? v : [v];
    const out: string[] = [];
    for (const r of raw) {
      const c = normalizeCwe(r);
      if (!c) {
        ctx.addIssue({ code: 'custom', message: `not a CWE id: ${String(r)}` });
        return z.NEVER;
      }
      if (!out.includes(c)) out.push(c);
    }
    return out;
  });

const Text = z.string().max(200_000);

/** What a person, a team file or an import line gives. Counters and timestamps are optional so exports round-trip. */
export const EntryInputSchema = z.object({
  id: z.string().min(1).max(200).optional(),
  title: z.string().trim().min(1).max(300),
  cwe: CweList.refine((v) => v.length > 0, 'at least one CWE id is required'),
  language: z.string().max(40).default('any').transform(normalizeLanguage),
  description: Text.optional(),
  vulnerableCode: Text.optional(),
  secureCode: Text.optional(),
  lesson: z.string().trim().min(1).max(20_000),
  task: Text.optional(),
  rules: z.array(z.string().max(200)).max(50).optional(),
  tags: z.array(z.string().max(100)).max(50).optional(),
  source: z.enum(SOURCES).optional(),
  retrieved: z.number().int().min(0).optional(),
  helped: z.number().int().min(0).optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
});
export type EntryInput = z.input<typeof EntryInputSchema>;
export type ParsedEntryInput = z.output<typeof EntryInputSchema>;

/** An entry as the knowledge base holds and exports it (the vector stays internal). */
export interface KnowledgeEntry {
  id: string;
  title: string;
  cwe: string[];
  language: string;
  description?: string;
  vulnerableCode?: string;
  secureCode?: string;
  lesson: string;
  task?: string;
  rules?: string[];
  tags?: string[];
  source: Source;
  retrieved: number;
  helped: number;
  createdAt: string;
  updatedAt: string;
  /** Team entries: the repository whose .reflexgen/knowledge.jsonl they came from. */
  repo?: string;
}

export interface KnowledgeHit {
  id: string;
  title: string;
  cwe: string[];
  language: string;
  lesson: string;
  secureCode?: string;
  vulnerableCode?: string;
  source: Source;
  score: number;
}

export interface RetrieveQuery {
  /** The request context: the task, the finding's message, the rule's description. */
  text: string;
  /** The code under examination (`y` in Retrieve(x, y)). */
  code?: string;
  language?: string;
  cwe?: string[];
  /** Analyzer rule ids of the finding; entries tagged with the same rule are boosted. */
  rules?: string[];
  /** Makes this repository's team knowledge eligible (and reloads it when its file changed). */
  repoRoot?: string;
  /** Only entries of the query's language family (or language "any"): guidance shown to a person. */
  strictLanguage?: boolean;
}

/** What the engine hands to UpdateRAG after a verified repair. */
export interface LearnInput {
  task?: string;
  language: string;
  cwe: string | string[];
  vulnerableCode?: string;
  secureCode: string;
  lesson: string;
  title?: string;
  rules?: string[];
  /** Keep the entry visible only in this repository (it was learned with a repository-chosen model). */
  repo?: string;
}

export interface LearnResult {
  id: string;
  /** False when a near-identical entry already held this repair (it was reinforced instead). */
  created: boolean;
}

export interface ImportReport {
  added: number;
  updated: number;
  errors: Array<{ line: number; message: string }>;
}

export interface KnowledgeStats {
  total: number;
  bySource: Record<string, number>;
  byCwe: Record<string, number>;
  byLanguage: Record<string, number>;
  embeddings: { model: string | null; dim: number | null; lexicalOnly: boolean; reason?: string };
  starterVersion: number | null;
  teamRepos: string[];
}

export interface Logish {
  info(msg: string): void;
  warn(msg: string): void;
}

export function entryToHit(e: KnowledgeEntry, score: number): KnowledgeHit {
  const hit: KnowledgeHit = { id: e.id, title: e.title, cwe: e.cwe, language: e.language, lesson: e.lesson, source: e.source, score };
  if (e.secureCode !== undefined) hit.secureCode = e.secureCode;
  if (e.vulnerableCode !== undefined) hit.vulnerableCode = e.vulnerableCode;
  return hit;
}
