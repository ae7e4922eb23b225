import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_MODEL_ID, Embedder, locateModel } from '../knowledge/embedder.js';
import { SearchIndex } from '../knowledge/search-index.js';
import type { KnowledgeEntry } from '../knowledge/types.js';
import { modelDir } from '../shared/paths.js';

/*
 * Knowledge base performance: model load, embedding latency, retrieval latency by corpus size and
 * memory. Without real weights it builds a stand-in with MiniLM-L6's exact shape (384 hidden, 6
 * layers, 12 heads), so load and latency numbers are representative even though similarities are not.
 */

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
}

const WORDS = (
  'buffer overflow length check bounds index pointer free null alloc malloc memcpy strcpy query sql cursor execute ' +
  'shell command subprocess system path file open read write escape html template render token secret password ' +
  'auth session cookie request response upload parse integer size loop array list string format input validate ' +
  'sanitize encode decode serialize deserialize pickle yaml eval exec url redirect fetch socket lock race thread'
).split(' ');
const CWES = ['CWE-22', 'CWE-78', 'CWE-79', 'CWE-89', 'CWE-125', 'CWE-190', 'CWE-416', 'CWE-476', 'CWE-787', 'CWE-20', 'CWE-94', 'CWE-502'];
const LANGS = ['python', 'c', 'cpp', 'javascript', 'typescript'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function words(r: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r() < 0.8 ? WORDS[Math.floor(r() * WORDS.length)] : `ident${Math.floor(r() * 50_000)}`);
  return out.join(' ');
}

function unitVector(r: () => number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = r() * 2 - 1;
    n += v[i] * v[i];
  }
  n = Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[i] /= n;
  return v;
}

function syntheticEntry(r: () => number, i: number): KnowledgeEntry {
  return {
    id: `synthetic:${i}`,
    title: words(r, 8),
    cwe: [CWES[Math.floor(r() * CWES.length)]],
    language: LANGS[Math.floor(r() * LANGS.length)],
    description: words(r, 30),
    lesson: words(r, 25),
    vulnerableCode: words(r, 40),
    secureCode: words(r, 40),
    source: 'repair',
    retrieved: 0,
    helped: 0,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
  };
}

const SNIPPETS = [
  'def get(conn, uid):\n    cur = conn.cursor()\n    cur.execute("SELECT * FROM users WHERE id = %s" % uid)\n    return cur.fetchone()',
  'void copy(char *dst, const char *src) {\n    char buf[64];\n    strcpy(buf, src);\n    memcpy(dst, buf, strlen(buf));\n}',
  'app.get("/f", (req, res) => res.sendFile(path.join(root, req.query.name)));',
  'os.system("ping -c 1 " + host)',
  'node = find(list, key);\nfree(node);\nprintf("%d", node->value);',
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function getModel(): Promise<{ root: string; kind: string; cleanup: () => void }> {
  const real = modelDir();
  if (locateModel(real).missing.length === 0) return { root: real, kind: 'installed model', cleanup: () => undefined };
  const { writeStandinModel, MINILM_CONFIG } = await import('./standin-model.js');
  const root = mkdtempSync(join(tmpdir(), 'reflexgen-bench-model-'));
  writeStandinModel(root, MINILM_CONFIG);
  return { root, kind: 'stand-in (MiniLM-L6 shape, random weights)', cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export async function benchKnowledge(opts: { sizes?: number[]; queries?: number } = {}): Promise<{ rows: BenchRow[]; model: string }> {
  const sizes = opts.sizes ?? [1_000, 10_000, 100_000];
  const queries = opts.queries ?? 50;
  const rows: BenchRow[] = [];
  const rssBefore = process.memoryUsage().rss;
  const model = await getModel();
  try {
    let t = performance.now();
    const embedder = await Embedder.load(model.root, DEFAULT_MODEL_ID);
    rows.push({ name: 'model load (cold, incl. runtime import)', value: performance.now() - t, unit: 'ms' });
    const rssModel = process.memoryUsage().rss;
    rows.push({ name: 'process RSS with the model loaded', value: rssModel / 2 ** 20, unit: 'MiB' });
    rows.push({ name: 'RSS added by loading the model', value: (rssModel - rssBefore) / 2 ** 20, unit: 'MiB' });

    await embedder.embed(SNIPPETS);
    const single: number[] = [];
    for (let i = 0; i < 20; i++) {
      t = performance.now();
      await embedder.embed([SNIPPETS[i % SNIPPETS.length]]);
      single.push(performance.now() - t);
    }
    rows.push({ name: 'embed one snippet (warm, median)', value: median(single), unit: 'ms' });
    const batch = Array.from({ length: 32 }, (_, i) => SNIPPETS[i % SNIPPETS.length] + ` // ${i}`);
    t = performance.now();
    await embedder.embed(batch, 32);
    rows.push({ name: 'embed batch of 32 (warm, per snippet)', value: (performance.now() - t) / 32, unit: 'ms' });

    const queryVectors = await embedder.embed(SNIPPETS);
    for (const size of sizes) {
      const r = rng(size);
      const index = new SearchIndex();
      t = performance.now();
      for (let i = 0; i < size; i++) index.upsert(syntheticEntry(r, i), unitVector(r, embedder.dim));
      rows.push({ name: `index build, ${size} entries`, value: performance.now() - t, unit: 'ms' });
      const times: number[] = [];
      for (let i = 0; i < queries + 5; i++) {
        const q = { text: 'possible memory or injection problem reported by the analyzer', code: SNIPPETS[i % SNIPPETS.length], language: 'c', cwe: ['CWE-787'], vector: queryVectors[i % SNIPPETS.length] };
        const s = performance.now();
        index.search(q, 5);
        if (i >= 5) times.push(performance.now() - s);
      }
      rows.push({ name: `retrieval (hybrid, warm, median), ${size} entries`, value: median(times), unit: 'ms' });
      rows.push({ name: `retrieval (hybrid, warm, p95), ${size} entries`, value: [...times].sort((a, b) => a - b)[Math.floor(times.length * 0.95)], unit: 'ms' });
      if (size === sizes[sizes.length - 1]) rows.push({ name: `process RSS with model + ${size} entries`, value: process.memoryUsage().rss / 2 ** 20, unit: 'MiB' });
    }
  } finally {
    model.cleanup();
  }
  return { rows, model: model.kind };
}

export function formatTable(rows: BenchRow[]): string {
  const w = Math.max(...rows.map((r) => r.name.length));
  return rows.map((r) => `${r.name.padEnd(w)}  ${r.value.toFixed(r.value < 10 ? 2 : 1).padStart(9)} ${r.unit}`).join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { rows, model } = await benchKnowledge();
  process.stdout.write(`knowledge base benchmark (embedding model: ${model})\n${formatTable(rows)}\n`);
}
