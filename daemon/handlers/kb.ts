import { EntryInputSchema } from '../../knowledge/index.js';
import { describeZodError } from '../../shared/config.js';
import { ErrorCodes, Methods } from '../../shared/protocol.js';
import { RpcError } from '../../shared/rpc.js';
import { getKnowledge } from '../services/knowledge.js';
import { defineHandler } from './types.js';

export const kbSearch = defineHandler({
  ...Methods['kb.search'],
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
  ...Methods['kb.list'],
  async handle(p, { daemon }) {
    return (await getKnowledge(daemon)).list(p);
  },
});

export const kbAdd = defineHandler({
  ...Methods['kb.add'],
  async handle(p, { daemon }) {
    const entry = EntryInputSchema.safeParse(p.entry);
    if (!entry.success) throw new RpcError(ErrorCodes.InvalidParams, describeZodError('kb.add entry', entry.error));
    return (await getKnowledge(daemon)).add(entry.data);
  },
});

export const kbRemove = defineHandler({
  ...Methods['kb.remove'],
  async handle(p, { daemon }) {
    return { removed: await (await getKnowledge(daemon)).remove(p.id) };
  },
});

export const kbExport = defineHandler({
  ...Methods['kb.export'],
  async handle(p, { daemon }) {
    const kb = await getKnowledge(daemon);
    const entries = kb.export(p);
    return { jsonl: entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : ''), count: entries.length };
  },
});

export const kbImport = defineHandler({
  ...Methods['kb.import'],
  async handle(p, { daemon }) {
    return (await getKnowledge(daemon)).import(p.jsonl, { source: p.source });
  },
});

export const kbStats = defineHandler({
  ...Methods['kb.stats'],
  async handle(p, { daemon }) {
    const kb = await getKnowledge(daemon);
    if (p.repoRoot) await kb.loadTeamKnowledge(p.repoRoot).catch(() => undefined);
    return kb.stats();
  },
});
