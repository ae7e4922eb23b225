import { randomBytes, createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { readRepoFile, REPO_FILE_CAPS } from '../shared/repo-files.js';
import { join, resolve } from 'node:path';
import { DEFAULT_MODEL_ID, Embedder, locateModel, vectorFromBase64, vectorToBase64 } from './embedder.js';
import { SearchIndex, type ScoredEntry } from './search-index.js';
import { loadStarter, defaultStarterDir } from './starter.js';
import { KnowledgeStore, type StoredDoc } from './store.js';
import { jaccard, normalizedCodeHash, uniqueTokens } from './text.js';
import {
  EntryInputSchema,
  entryToHit,
  normalizeCwe,
  normalizeLanguage,
  type EntryInput,
  type ImportReport,
  type KnowledgeEntry,
  type KnowledgeHit,
  type KnowledgeStats,
  type LearnInput,
  type LearnResult,
  type Logish,
  type ParsedEntryInput,
  type RetrieveQuery,
  type Source,
} from './types.js';

export * from './types.js';
export { DEFAULT_MODEL_ID, Embedder, locateModel } from './embedder.js';
export { SearchIndex, WEIGHTS } from './search-index.js';
export { loadStarter, defaultStarterDir } from './starter.js';

export const TEAM_FILE = join('.reflexgen', 'knowledge.jsonl');
/** Team knowledge is reference text for prompts: a few hundred entries is a large team's base. */
export const MAX_TEAM_ENTRIES = 2000;

export interface OpenOptions {
  /** Folder of the datafiles (the daemon uses <stateDir>/knowledge). */
  dir: string;
  /** Local model directory; without one (or without the weights in it) retrieval is lexical only. */
  modelDir?: string;
  modelId?: string;
  log?: Logish;
  starterDir?: string;
  /** Compaction period of the datafiles; 0 turns the timer off. */
  compactEveryMs?: number;
  /** How often pending retrieval counters are written. */
  flushEveryMs?: number;
}

export interface ListFilter {
  source?: Source;
  cwe?: string;
  language?: string;
  limit?: number;
}

// A repair this close to an existing one (same CWE) reinforces it instead of adding a copy.
const DUP_COSINE = 0.97;
const DUP_JACCARD = 0.9;
const SILENT: Logish = { info() {}, warn() {} };

function embedText(e: Pick<KnowledgeEntry, 'title' | 'description' | 'lesson' | 'vulnerableCode' | 'task'>): string {
  return [e.title, e.description, e.lesson, e.task, e.vulnerableCode?.slice(0, 1500)].filter(Boolean).join('\n');
}

function codeHashOf(e: Pick<KnowledgeEntry, 'secureCode' | 'vulnerableCode'>): string | undefined {
  const code = e.secureCode ?? e.vulnerableCode;
  return code && code.trim() ? normalizedCodeHash(code) : undefined;
}

function newId(source: Source): string {
  return `${source}:${randomBytes(6).toString('hex')}`;
}

function toEntry(d: StoredDoc): KnowledgeEntry {
  const { _id, vector: _v, vectorModel: _m, codeHash: _c, ...rest } = d;
  return { id: _id, ...rest };
}

function fromInput(p: ParsedEntryInput, id: string, source: Source, now: string, prev?: KnowledgeEntry): KnowledgeEntry {
  const e: KnowledgeEntry = {
    id,
    title: p.title,
    cwe: p.cwe,
    language: p.language,
    lesson: p.lesson,
    source,
    retrieved: p.retrieved ?? prev?.retrieved ?? 0,
    helped: p.helped ?? prev?.helped ?? 0,
    createdAt: p.createdAt ?? prev?.createdAt ?? now,
    updatedAt: p.updatedAt ?? now,
  };
  for (const k of ['description', 'vulnerableCode', 'secureCode', 'task'] as const) if (p[k] !== undefined) e[k] = p[k];
  if (p.rules?.length) e.rules = p.rules;
  if (p.tags?.length) e.tags = p.tags;
  return e;
}

function describeIssues(err: { issues: Array<{ path: PropertyKey[]; message: string }> }): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ');
}

/** Parses JSONL text into entries; every bad line is reported with its 1-based number, none is fatal. */
export function parseJsonl(text: string): { entries: ParsedEntryInput[]; lines: number[]; errors: ImportReport['errors'] } {
  const entries: ParsedEntryInput[] = [];
  const lines: number[] = [];
  const errors: ImportReport['errors'] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('//')) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      errors.push({ line: i + 1, message: `not JSON: ${(err as Error).message}` });
      return;
    }
    const parsed = EntryInputSchema.safeParse(json);
    if (!parsed.success) {
      errors.push({ line: i + 1, message: describeIssues(parsed.error) });
      return;
    }
    entries.push(parsed.data);
    lines.push(i + 1);
  });
  return { entries, lines, errors };
}

export class KnowledgeBase {
  private embedder: Embedder | null = null;
  private modelProblem: string | undefined;
  private readonly pending = new Map<string, { retrieved: number; helped: number }>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly team = new Map<string, { mtimeMs: number; size: number; ids: string[] }>();
  private readonly teamVectors = new Map<string, Float32Array>();
  private readonly queryCache = new Map<string, Float32Array>();
  private starterVersion: number | null = null;
  private closed = false;

  private constructor(
    private readonly store: KnowledgeStore,
    readonly index: SearchIndex,
    private readonly log: Logish,
    private readonly opts: OpenOptions,
  ) {}

  static async open(opts: OpenOptions): Promise<KnowledgeBase> {
    const log = opts.log ?? SILENT;
    const store = await KnowledgeStore.open(opts.dir, log, { compactEveryMs: opts.compactEveryMs });
    const kb = new KnowledgeBase(store, new SearchIndex(), log, opts);
    await kb.loadModel();
    const docs = await store.all();
    const fingerprint = kb.embedder?.fingerprint;
    for (const d of docs) {
      const v = d.vector && d.vectorModel === fingerprint && kb.embedder ? vectorFromBase64(d.vector, kb.embedder.dim) : undefined;
      kb.index.upsert(toEntry(d), v, d.codeHash);
    }
    await kb.syncStarter();
    await kb.embedMissing();
    const every = opts.flushEveryMs ?? 2000;
    kb.flushTimer = setInterval(() => void kb.flush().catch((e) => log.warn(`knowledge: counter flush failed: ${String(e)}`)), every);
    kb.flushTimer.unref();
    return kb;
  }

  /** Whether vectors take part in retrieval, and if not, why. */
  get embeddings(): KnowledgeStats['embeddings'] {
    return this.embedder
      ? { model: this.embedder.fingerprint, dim: this.embedder.dim, lexicalOnly: false }
      : { model: null, dim: null, lexicalOnly: true, reason: this.modelProblem };
  }

  get embedderInstance(): Embedder | null {
    return this.embedder;
  }

  private async loadModel(): Promise<void> {
    const modelDir = this.opts.modelDir;
    const modelId = this.opts.modelId ?? DEFAULT_MODEL_ID;
    if (!modelDir) {
      this.modelProblem = 'no model directory configured';
    } else {
      const loc = locateModel(modelDir, modelId);
      if (loc.missing.length > 0) {
        this.modelProblem = `model ${modelId} not installed in ${modelDir} (missing ${loc.missing.join(', ')}); run \`reflexgen models import <dir>\` or \`reflexgen models pull\``;
      } else {
        try {
          this.embedder = await Embedder.load(modelDir, modelId);
          this.log.info(`knowledge: embedding model ${this.embedder.fingerprint} loaded in ${Math.round(this.embedder.loadMs)} ms (dim ${this.embedder.dim})`);
          return;
        } catch (err) {
          this.modelProblem = `model ${modelId} in ${modelDir} failed to load: ${(err as Error).message.split('\n')[0]}`;
        }
      }
    }
    // Said once per open; the daemon opens the base once, so once per daemon.
    this.log.warn(`knowledge: ${this.modelProblem}; retrieval continues with lexical scoring only`);
  }

  private async syncStarter(): Promise<void> {
    const starter = loadStarter(this.opts.starterDir ?? defaultStarterDir());
    const stored = (await this.store.getMeta<number>('starterVersion')) ?? null;
    this.starterVersion = stored;
    if (stored === starter.version && starter.entries.every((e) => this.index.has(e.id))) return;
    const now = new Date().toISOString();
    const wanted = new Set(starter.entries.map((e) => e.id));
    for (const old of this.index.entries()) {
      if (old.source === 'starter' && !wanted.has(old.id)) {
        this.index.remove(old.id);
        await this.store.remove(old.id);
      }
    }
    for (const s of starter.entries) {
      const prev = this.index.get(s.id);
      // Counters earned by a starter entry survive its upgrade.
      const e = fromInput({ ...s, retrieved: prev?.retrieved, helped: prev?.helped, createdAt: prev?.createdAt, updatedAt: undefined }, s.id, 'starter', now, prev);
      const unchanged = prev && JSON.stringify({ ...prev, retrieved: 0, helped: 0, updatedAt: '' }) === JSON.stringify({ ...e, retrieved: 0, helped: 0, updatedAt: '' });
      if (unchanged) continue;
      await this.save(e);
    }
    await this.store.setMeta('starterVersion', starter.version);
    this.starterVersion = starter.version;
    this.log.info(`knowledge: starter knowledge v${starter.version} installed (${starter.entries.length} entries)`);
  }

  /** Computes vectors the index lacks (new base, new weights), in batches, and keeps them on disk. */
  private async embedMissing(): Promise<void> {
    if (!this.embedder) return;
    const missing = this.index.entries().filter((e) => !this.index.vectorOf(e.id) && e.source !== 'team');
    if (missing.length === 0) return;
    const vectors = await this.embedder.embed(missing.map(embedText));
    for (let i = 0; i < missing.length; i++) {
      this.index.setVector(missing[i].id, vectors[i]);
      await this.store.patch(missing[i].id, { vector: vectorToBase64(vectors[i]), vectorModel: this.embedder.fingerprint });
    }
  }

  private async save(e: KnowledgeEntry, vector?: Float32Array): Promise<void> {
    let v = vector;
    if (!v && this.embedder) [v] = await this.embedder.embed([embedText(e)]);
    const codeHash = codeHashOf(e);
    const doc: StoredDoc = { ...e, _id: e.id } as StoredDoc & { id?: string };
    delete (doc as { id?: string }).id;
    if (codeHash) doc.codeHash = codeHash;
    if (v && this.embedder) {
      doc.vector = vectorToBase64(v);
      doc.vectorModel = this.embedder.fingerprint;
    }
    await this.store.put(doc);
    this.index.upsert(e, v, codeHash);
  }

  private async queryVector(text: string): Promise<Float32Array | undefined> {
    if (!this.embedder) return undefined;
    const key = createHash('sha1').update(text).digest('hex');
    const hit = this.queryCache.get(key);
    if (hit) return hit;
    const [v] = await this.embedder.embed([text]);
    this.queryCache.set(key, v);
    if (this.queryCache.size > 128) this.queryCache.delete(this.queryCache.keys().next().value!);
    return v;
  }

  /**
   * Retrieve(x, y): the k entries that best match the request and the code, best first, near
   * duplicates removed. Never throws for a missing model or an unreadable team file.
   */
  async retrieve(q: RetrieveQuery, k = 5): Promise<KnowledgeHit[]> {
    return (await this.retrieveScored(q, k)).map((s) => entryToHit(s.entry, Math.round(s.score * 1e4) / 1e4));
  }

  /** Same as retrieve, with the parts of each score (for `kb search --explain` and tuning). */
  async retrieveScored(q: RetrieveQuery, k = 5, opts: { count?: boolean } = {}): Promise<ScoredEntry[]> {
    if (q.repoRoot) {
      try {
        await this.loadTeamKnowledge(q.repoRoot);
      } catch (err) {
        this.log.warn(`knowledge: team knowledge of ${q.repoRoot} not loaded: ${(err as Error).message}`);
      }
    }
    const repoRoot = q.repoRoot ? resolve(q.repoRoot) : undefined;
    const text = [q.text, q.code].filter(Boolean).join('\n');
    const vector = await this.queryVector(text.slice(0, 4000));
    const hits = this.index.search({ ...q, repoRoot, vector }, k);
    if (opts.count !== false) for (const h of hits) this.count(h.entry, 'retrieved');
    return hits;
  }

  private count(e: KnowledgeEntry, field: 'retrieved' | 'helped'): void {
    e[field] += 1;
    if (e.source === 'team') return; // team entries live in the repo's file, not in the datafile
    const p = this.pending.get(e.id) ?? { retrieved: 0, helped: 0 };
    p[field] += 1;
    this.pending.set(e.id, p);
  }

  /** Writes pending counters; retrieval does not wait on disk for them. */
  async flush(): Promise<void> {
    const batch = [...this.pending.entries()];
    this.pending.clear();
    for (const [id, inc] of batch) {
      if (!this.index.has(id)) continue;
      const delta: Partial<Record<'retrieved' | 'helped', number>> = {};
      if (inc.retrieved) delta.retrieved = inc.retrieved;
      if (inc.helped) delta.helped = inc.helped;
      await this.store.patch(id, {}, delta);
    }
  }

  /**
   * UpdateRAG(x, y): stores a verified repair as a 'repair' entry unless a near-identical one of the
   * same CWE exists (then that one is reinforced), and credits the entries that were in the context.
   */
  async learn(input: LearnInput, creditedIds: string[] = []): Promise<LearnResult> {
    const cwe = (Array.isArray(input.cwe) ? input.cwe : [input.cwe]).map((c) => normalizeCwe(c)).filter((c): c is string => !!c);
    const language = normalizeLanguage(input.language);
    const now = new Date().toISOString();
    const title = input.title?.trim() || `${cwe[0] ?? 'Security'} repair in ${language}: ${input.lesson.trim().split('\n')[0].slice(0, 80)}`;
    const parsed = EntryInputSchema.parse({
      title,
      cwe: cwe.length ? cwe : ['CWE-20'],
      language,
      lesson: input.lesson,
      task: input.task,
      vulnerableCode: input.vulnerableCode,
      secureCode: input.secureCode,
      rules: input.rules,
    });
    const candidate = fromInput(parsed, newId('repair'), 'repair', now);
    // Learned while a repository chose the model: that lesson stays visible to that repository only.
    if (input.repo) candidate.repo = resolve(input.repo);
    const vector = this.embedder ? (await this.embedder.embed([embedText(candidate)]))[0] : undefined;
    const hash = codeHashOf(candidate);
    const secureTokens = new Set(uniqueTokens(candidate.secureCode ?? ''));
    const sameKind = (e: KnowledgeEntry) => e.source === 'repair' && e.repo === candidate.repo && e.cwe.some((c) => candidate.cwe.includes(c)) && e.language === candidate.language;
    let dup = this.index.findNearDuplicate(hash, vector, DUP_COSINE, sameKind);
    if (!dup) {
      dup = this.index.entries().find((e) => sameKind(e) && !!e.secureCode && jaccard(secureTokens, new Set(uniqueTokens(e.secureCode))) >= DUP_JACCARD);
    }

    for (const id of new Set(creditedIds)) {
      const e = this.index.get(id);
      if (e) this.count(e, 'helped');
    }
    let result: LearnResult;
    if (dup) {
      this.count(dup, 'helped');
      result = { id: dup.id, created: false };
    } else {
      await this.save(candidate, vector);
      result = { id: candidate.id, created: true };
    }
    // Learning is rare and its credit is the signal ranking depends on: persist it now.
    await this.flush();
    return result;
  }

  /** Adds (or, with a known id, replaces) an entry given by a person or a tool. */
  async add(input: EntryInput): Promise<KnowledgeEntry> {
    const p = EntryInputSchema.parse(input);
    const source = p.source && p.source !== 'team' ? p.source : 'manual';
    const prev = p.id ? this.index.get(p.id) : undefined;
    const e = fromInput(p, p.id ?? newId(source), source, new Date().toISOString(), prev);
    await this.save(e);
    return e;
  }

  async remove(id: string): Promise<boolean> {
    const e = this.index.get(id);
    if (!e || e.source === 'team') return false;
    this.pending.delete(id);
    this.index.remove(id);
    return this.store.remove(id);
  }

  get(id: string): KnowledgeEntry | undefined {
    const e = this.index.get(id);
    return e ? { ...e } : undefined;
  }

  list(filter: ListFilter = {}): KnowledgeEntry[] {
    const cwe = filter.cwe ? normalizeCwe(filter.cwe) : undefined;
    const lang = filter.language ? normalizeLanguage(filter.language) : undefined;
    const out = this.index
      .entries()
      .filter((e) => (!filter.source || e.source === filter.source) && (!cwe || e.cwe.includes(cwe)) && (!lang || e.language === lang))
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((e) => ({ ...e }));
    return filter.limit ? out.slice(0, filter.limit) : out;
  }

  stats(): KnowledgeStats {
    const bySource: Record<string, number> = {};
    const byCwe: Record<string, number> = {};
    const byLanguage: Record<string, number> = {};
    const all = this.index.entries();
    for (const e of all) {
      bySource[e.source] = (bySource[e.source] ?? 0) + 1;
      byLanguage[e.language] = (byLanguage[e.language] ?? 0) + 1;
      for (const c of e.cwe) byCwe[c] = (byCwe[c] ?? 0) + 1;
    }
    return { total: all.length, bySource, byCwe, byLanguage, embeddings: this.embeddings, starterVersion: this.starterVersion, teamRepos: [...this.team.keys()] };
  }

  /** Every stored entry (team entries belong to their repo's file and are left out), counters included. */
  export(filter: ListFilter = {}): KnowledgeEntry[] {
    return this.list(filter).filter((e) => e.source !== 'team').map(({ repo: _r, ...e }) => e);
  }

  exportJsonl(filter: ListFilter = {}): string {
    return this.export(filter).map((e) => JSON.stringify(e)).join('\n') + '\n';
  }

  /**
   * Imports JSONL (the export format). Entries with a known id replace it, others are added with their
   * own id (or a new one). Bad lines are reported with their numbers and skipped; the good ones land.
   */
  async import(text: string, opts: { source?: Source } = {}): Promise<ImportReport> {
    const { entries, errors } = parseJsonl(text);
    let added = 0;
    let updated = 0;
    const now = new Date().toISOString();
    for (const p of entries) {
      const source: Source = opts.source ?? (p.source && p.source !== 'team' ? p.source : 'manual');
      const prev = p.id ? this.index.get(p.id) : undefined;
      if (prev?.source === 'team') {
        errors.push({ line: 0, message: `${p.id}: is team knowledge of ${prev.repo}; not replaced` });
        continue;
      }
      const e = fromInput(p, p.id ?? newId(source), source, now, prev);
      this.pending.delete(e.id);
      await this.save(e);
      if (prev) updated++;
      else added++;
    }
    return { added, updated, errors };
  }

  /**
   * Loads `<repoRoot>/.reflexgen/knowledge.jsonl` as team knowledge of that repo; a no-op when the file
   * did not change since the last load. Returns what was loaded and the lines that were rejected.
   */
  async loadTeamKnowledge(repoRoot: string): Promise<{ loaded: number; changed: boolean; errors: ImportReport['errors'] }> {
    const root = resolve(repoRoot);
    const file = join(root, TEAM_FILE);
    let st: { mtimeMs: number; size: number } | undefined;
    try {
      const s = await lstat(file);
      st = { mtimeMs: s.mtimeMs, size: s.size };
    } catch {
      st = undefined;
    }
    const known = this.team.get(root);
    const drop = () => {
      for (const id of known?.ids ?? []) this.index.remove(id);
      this.team.delete(root);
    };
    if (!st) {
      if (!known) return { loaded: 0, changed: false, errors: [] };
      drop();
      return { loaded: 0, changed: true, errors: [] };
    }
    if (known && known.mtimeMs === st.mtimeMs && known.size === st.size) return { loaded: known.ids.length, changed: false, errors: [] };

    // A repository's file is untrusted input: a regular file only, size-capped, entry-capped.
    const read = await readRepoFile(root, TEAM_FILE, REPO_FILE_CAPS.knowledge);
    if (read.kind !== 'ok') {
      drop();
      // Remember the refusal by stat so a hostile file is not re-read on every check.
      this.team.set(root, { ...st, ids: [] });
      if (read.kind === 'refused') this.log.warn(`knowledge: team knowledge not loaded: ${read.reason}`);
      return { loaded: 0, changed: true, errors: read.kind === 'refused' ? [{ line: 0, message: read.reason }] : [] };
    }
    const parsed = parseJsonl(read.text);
    const { lines, errors } = parsed;
    let entries = parsed.entries;
    if (entries.length > MAX_TEAM_ENTRIES) {
      errors.push({ line: lines[MAX_TEAM_ENTRIES], message: `more than ${MAX_TEAM_ENTRIES} entries; the rest were not loaded` });
      entries = entries.slice(0, MAX_TEAM_ENTRIES);
    }
    // One summary line, not one log line per bad input line: a file of garbage must not flood the log.
    if (errors.length) this.log.warn(`knowledge: ${file}:${errors[0].line}: ${errors[0].message.slice(0, 200)} (${errors.length} bad line(s) skipped in all)`);
    drop();
    const repoTag = createHash('sha1').update(root).digest('hex').slice(0, 8);
    const now = new Date().toISOString();
    const prepared = entries.map((p, i) => {
      const id = `team:${repoTag}:${p.id ?? `line${lines[i]}`}`;
      const e = fromInput(p, id, 'team', now);
      e.repo = root;
      return e;
    });
    // Vectors are cached by content so an edit re-embeds only the lines that changed.
    const keys = prepared.map((e) => createHash('sha1').update(embedText(e)).digest('hex'));
    if (this.embedder) {
      const todo = prepared.map((e, i) => ({ e, key: keys[i] })).filter((x) => !this.teamVectors.has(x.key));
      const vectors = await this.embedder.embed(todo.map((x) => embedText(x.e)));
      todo.forEach((x, i) => this.teamVectors.set(x.key, vectors[i]));
    }
    for (let i = 0; i < prepared.length; i++) this.index.upsert(prepared[i], this.teamVectors.get(keys[i]), codeHashOf(prepared[i]));
    this.team.set(root, { ...st, ids: prepared.map((e) => e.id) });
    this.log.info(`knowledge: ${prepared.length} team entries loaded from ${file}${errors.length ? ` (${errors.length} bad lines skipped)` : ''}`);
    return { loaded: prepared.length, changed: true, errors };
  }

  async compact(): Promise<void> {
    await this.flush();
    await this.store.compact();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.flush();
    await this.store.close();
  }
}
