import MiniSearch from 'minisearch';
import { cwesInText, tokenize, uniqueTokens } from './text.js';
import { languageFamily, normalizeCwe, normalizeLanguage, type KnowledgeEntry, type RetrieveQuery } from './types.js';

/*
 * The in-memory side of retrieval: a BM25 index (MiniSearch, which scores with BM25+ and takes adds
 * and removals incrementally, so nothing has to be rebuilt when the daemon learns a repair) and the
 * embedding vectors packed in one Float32Array so a full cosine scan stays cache friendly.
 */

interface Doc {
  entry: KnowledgeEntry;
  slot: number;
  codeHash?: string;
  titleKey: string;
}

export interface SearchQuery extends RetrieveQuery {
  vector?: Float32Array;
}

export interface ScoredEntry {
  entry: KnowledgeEntry;
  score: number;
  parts: { semantic: number; lexical: number; cwe: number; rule: number; language: number; feedback: number };
}

/** Weights of the hybrid score; exported so benchmarks and tests can show what they measure. */
export const WEIGHTS = {
  semantic: 0.55,
  lexical: 0.45,
  cwe: 0.35,
  rule: 0.1,
  languageExact: 0.12,
  languageFamily: 0.06,
  languageAny: 0.03,
  feedback: 0.2,
};

const LEXICAL_CANDIDATES = 100;
const SEMANTIC_CANDIDATES = 50;
const MAX_TEXT_TERMS = 16;
const MAX_CODE_TERMS = 16;

function cweToken(cwe: string): string {
  return cwe.toLowerCase().replace('-', '');
}

export class SearchIndex {
  private readonly docs = new Map<string, Doc>();
  private readonly slotIds: Array<string | undefined> = [];
  private readonly freeSlots: number[] = [];
  private matrix = new Float32Array(0);
  private dim = 0;
  /** Documents per term, to pick the informative terms of a long code query. */
  private readonly df = new Map<string, number>();
  private readonly docTerms = new Map<string, string[]>();
  private readonly bm25: MiniSearch<{ id: string; title: string; body: string; code: string }>;

  constructor() {
    this.bm25 = new MiniSearch({
      idField: 'id',
      fields: ['title', 'body', 'code'],
      storeFields: [],
      tokenize: (text, field) => (field === undefined ? text.split(' ') : tokenize(text)),
      processTerm: (t) => t,
      searchOptions: { boost: { title: 2, body: 1.5, code: 1 }, combineWith: 'OR' },
    });
  }

  get size(): number {
    return this.docs.size;
  }

  get vectorDim(): number {
    return this.dim;
  }

  has(id: string): boolean {
    return this.docs.has(id);
  }

  get(id: string): KnowledgeEntry | undefined {
    return this.docs.get(id)?.entry;
  }

  entries(): KnowledgeEntry[] {
    return [...this.docs.values()].map((d) => d.entry);
  }

  vectorOf(id: string): Float32Array | undefined {
    const d = this.docs.get(id);
    if (!d || d.slot < 0 || this.dim === 0) return undefined;
    return this.matrix.subarray(d.slot * this.dim, (d.slot + 1) * this.dim);
  }

  /** Adds or replaces an entry; the vector is optional (lexical only until it comes). */
  upsert(entry: KnowledgeEntry, vector?: Float32Array, codeHash?: string): void {
    if (this.docs.has(entry.id)) this.remove(entry.id);
    const body = [entry.description, entry.lesson, entry.task, ...(entry.tags ?? []), ...(entry.rules ?? []), ...entry.cwe.map(cweToken)]
      .filter(Boolean)
      .join('\n');
    const code = [entry.vulnerableCode, entry.secureCode].filter(Boolean).join('\n');
    this.bm25.add({ id: entry.id, title: entry.title, body, code });
    const terms = [...new Set([...tokenize(entry.title), ...tokenize(body), ...tokenize(code)])];
    for (const t of terms) this.df.set(t, (this.df.get(t) ?? 0) + 1);
    this.docTerms.set(entry.id, terms);
    const doc: Doc = { entry, slot: -1, codeHash, titleKey: entry.title.toLowerCase().replace(/\W+/g, ' ').trim() };
    this.docs.set(entry.id, doc);
    if (vector) this.setVector(entry.id, vector);
  }

  setVector(id: string, vector: Float32Array): void {
    const doc = this.docs.get(id);
    if (!doc) return;
    if (this.dim === 0) this.dim = vector.length;
    if (vector.length !== this.dim) throw new Error(`vector of ${vector.length} dims in an index of ${this.dim}`);
    if (doc.slot < 0) {
      doc.slot = this.freeSlots.pop() ?? this.slotIds.length;
      if (doc.slot === this.slotIds.length) this.slotIds.push(id);
      else this.slotIds[doc.slot] = id;
      const needed = (doc.slot + 1) * this.dim;
      if (this.matrix.length < needed) {
        const grown = new Float32Array(Math.max(needed, this.matrix.length * 2, 64 * this.dim));
        grown.set(this.matrix);
        this.matrix = grown;
      }
    }
    this.matrix.set(vector, doc.slot * this.dim);
  }

  /** Forgets every vector, e.g. when the weights changed and old vectors mean nothing. */
  clearVectors(): void {
    for (const d of this.docs.values()) d.slot = -1;
    this.slotIds.length = 0;
    this.freeSlots.length = 0;
    this.matrix = new Float32Array(0);
    this.dim = 0;
  }

  remove(id: string): boolean {
    const doc = this.docs.get(id);
    if (!doc) return false;
    this.bm25.discard(id);
    for (const t of this.docTerms.get(id) ?? []) {
      const n = (this.df.get(t) ?? 1) - 1;
      if (n <= 0) this.df.delete(t);
      else this.df.set(t, n);
    }
    this.docTerms.delete(id);
    if (doc.slot >= 0) {
      this.slotIds[doc.slot] = undefined;
      this.freeSlots.push(doc.slot);
    }
    this.docs.delete(id);
    return true;
  }

  /** Entries whose normalized code matches, or whose vector is within `minCosine` of the given one. */
  findNearDuplicate(codeHash: string | undefined, vector: Float32Array | undefined, minCosine: number, accept: (e: KnowledgeEntry) => boolean): KnowledgeEntry | undefined {
    if (codeHash) {
      for (const d of this.docs.values()) if (d.codeHash === codeHash && accept(d.entry)) return d.entry;
    }
    if (vector && this.dim === vector.length) {
      let best: KnowledgeEntry | undefined;
      let bestSim = minCosine;
      for (const d of this.docs.values()) {
        if (d.slot < 0 || !accept(d.entry)) continue;
        const sim = this.dot(vector, d.slot);
        if (sim >= bestSim) {
          bestSim = sim;
          best = d.entry;
        }
      }
      return best;
    }
    return undefined;
  }

  private dot(v: Float32Array, slot: number): number {
    const m = this.matrix;
    const dim = this.dim;
    let off = slot * dim;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let i = 0;
    for (; i + 3 < dim; i += 4, off += 4) {
      s0 += v[i] * m[off];
      s1 += v[i + 1] * m[off + 1];
      s2 += v[i + 2] * m[off + 2];
      s3 += v[i + 3] * m[off + 3];
    }
    for (; i < dim; i++, off++) s0 += v[i] * m[off];
    return s0 + s1 + s2 + s3;
  }

  private queryTerms(q: SearchQuery, cwes: string[]): { terms: string[]; weight: Map<string, number> } {
    const weight = new Map<string, number>();
    const n = this.docs.size;
    const df = (t: string) => this.df.get(t) ?? 0;
    // Terms in most documents barely move BM25 but cost a walk over their whole posting list; on a
    // large base they are dropped (the rarest few are always kept so a query never comes up empty).
    const common = Math.max(50, Math.floor(n * 0.2));
    // BM25's idf of a term in over half the documents is about zero: such terms never help.
    const useless = Math.max(50, Math.floor(n * 0.5));
    const pick = (tokens: string[], max: number) => {
      const known = tokens.filter((t) => df(t) > 0 && df(t) <= useless && !weight.has(t)).sort((a, b) => df(a) - df(b));
      return known.filter((t, i) => i < 3 || df(t) <= common).slice(0, max);
    };
    for (const t of pick(uniqueTokens(q.text), MAX_TEXT_TERMS)) weight.set(t, 2);
    // Rare terms say most about a snippet; common ones (int, return, self) only add noise and time.
    if (q.code) for (const t of pick(uniqueTokens(q.code), MAX_CODE_TERMS)) weight.set(t, 1);
    for (const c of cwes) if (df(cweToken(c)) > 0) weight.set(cweToken(c), 3);
    for (const r of q.rules ?? []) for (const t of uniqueTokens(r)) if (df(t) > 0) weight.set(t, Math.max(weight.get(t) ?? 0, 2));
    return { terms: [...weight.keys()], weight };
  }

  search(q: SearchQuery, k: number): ScoredEntry[] {
    if (this.docs.size === 0 || k <= 0) return [];
    const cwes = [...new Set([...(q.cwe ?? []).map((c) => normalizeCwe(c)).filter((c): c is string => !!c), ...cwesInText(q.text)])];
    const lang = q.language ? normalizeLanguage(q.language) : undefined;
    const rules = new Set((q.rules ?? []).map((r) => r.toLowerCase()));
    // A lesson about C's system() is noise next to a JS exec finding: guidance can ask for its own language only.
    const family = q.strictLanguage && lang ? languageFamily(lang) : undefined;
    const visible = (d: Doc) =>
      (d.entry.repo === undefined || d.entry.repo === q.repoRoot) && (family === undefined || d.entry.language === 'any' || languageFamily(d.entry.language) === family);

    const lexical = new Map<string, number>();
    const { terms, weight } = this.queryTerms(q, cwes);
    if (terms.length > 0) {
      const results = this.bm25.search(terms.join(' '), { boostTerm: (term: string) => weight.get(term) ?? 1 });
      let taken = 0;
      for (const r of results) {
        const d = this.docs.get(String(r.id));
        if (!d || !visible(d)) continue;
        lexical.set(d.entry.id, r.score);
        if (++taken >= LEXICAL_CANDIDATES) break;
      }
    }
    let maxLex = 0;
    for (const s of lexical.values()) if (s > maxLex) maxLex = s;

    const semantic = new Map<string, number>();
    const useVectors = q.vector !== undefined && this.dim > 0 && q.vector.length === this.dim;
    if (useVectors) {
      const v = q.vector!;
      // Keep the best few in a small sorted buffer: one pass, no sort of the whole corpus.
      const topIds: string[] = [];
      const topScores: number[] = [];
      for (let slot = 0; slot < this.slotIds.length; slot++) {
        const id = this.slotIds[slot];
        if (id === undefined) continue;
        const s = this.dot(v, slot);
        if (topScores.length === SEMANTIC_CANDIDATES && s <= topScores[topScores.length - 1]) continue;
        const d = this.docs.get(id)!;
        if (!visible(d)) continue;
        let pos = topScores.length;
        while (pos > 0 && topScores[pos - 1] < s) pos--;
        topScores.splice(pos, 0, s);
        topIds.splice(pos, 0, id);
        if (topScores.length > SEMANTIC_CANDIDATES) {
          topScores.pop();
          topIds.pop();
        }
      }
      for (let i = 0; i < topIds.length; i++) semantic.set(topIds[i], topScores[i]);
    }

    const candidates = new Set<string>([...lexical.keys(), ...semantic.keys()]);
    const scored: ScoredEntry[] = [];
    for (const id of candidates) {
      const d = this.docs.get(id)!;
      const e = d.entry;
      let sem = semantic.get(id);
      if (sem === undefined && useVectors && d.slot >= 0) sem = this.dot(q.vector!, d.slot);
      const lex = maxLex > 0 ? (lexical.get(id) ?? 0) / maxLex : 0;
      const parts = {
        semantic: useVectors ? WEIGHTS.semantic * Math.max(0, sem ?? 0) : 0,
        lexical: (useVectors ? WEIGHTS.lexical : 1) * lex,
        cwe: cwes.length > 0 && e.cwe.some((c) => cwes.includes(c)) ? WEIGHTS.cwe : 0,
        rule: rules.size > 0 && (e.rules ?? []).some((r) => rules.has(r.toLowerCase())) ? WEIGHTS.rule : 0,
        language: !lang
          ? 0
          : e.language === lang
            ? WEIGHTS.languageExact
            : languageFamily(e.language) === languageFamily(lang)
              ? WEIGHTS.languageFamily
              : e.language === 'any'
                ? WEIGHTS.languageAny
                : 0,
        // Laplace-smoothed share of retrievals that helped a verified repair, centred on zero.
        feedback: WEIGHTS.feedback * ((e.helped + 1) / (e.retrieved + 2) - 0.5),
      };
      const score = parts.semantic + parts.lexical + parts.cwe + parts.rule + parts.language + parts.feedback;
      scored.push({ entry: e, score, parts });
    }
    scored.sort((a, b) => b.score - a.score || a.entry.id.localeCompare(b.entry.id));

    const out: ScoredEntry[] = [];
    for (const s of scored) {
      if (out.length >= k) break;
      const d = this.docs.get(s.entry.id)!;
      const dup = out.some((o) => {
        const od = this.docs.get(o.entry.id)!;
        if (d.codeHash && d.codeHash === od.codeHash) return true;
        if (d.titleKey === od.titleKey && d.entry.lesson === od.entry.lesson) return true;
        if (d.slot >= 0 && od.slot >= 0) {
          const v = this.matrix.subarray(od.slot * this.dim, (od.slot + 1) * this.dim);
          return this.dot(v, d.slot) > 0.985;
        }
        return false;
      });
      if (!dup) out.push(s);
    }
    return out;
  }
}
