import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KnowledgeBase } from '../knowledge/index.js';
import { locateModel } from '../knowledge/embedder.js';
import { modelDir, packageRoot } from '../shared/paths.js';

/*
 * Retrieve(x, y) quality on the SVEN pairs: for each vulnerable function, does an entry of the
 * pair's CWE come first / within the first three, querying the starter knowledge alone? With the
 * stand-in model (random weights) this measures the lexical part and the boosts only.
 */

export interface QualityRow {
  cwe: string;
  n: number;
  top1: number;
  top3: number;
}

function svenDir(): string | undefined {
  const c = [process.env.REFLEXGEN_SVEN_DIR, resolve(packageRoot(), '..', 'shared', 'benchmarks', 'sven', 'train_val')];
  return c.find((d): d is string => !!d && existsSync(d));
}

export async function benchRetrievalQuality(opts: { modelDir?: string; svenDir?: string } = {}): Promise<{ rows: QualityRow[]; model: string }> {
  const sven = opts.svenDir ?? svenDir();
  if (!sven) throw new Error('SVEN pairs not found (set REFLEXGEN_SVEN_DIR)');
  // Random stand-in weights would only add noise to the score; without real weights, measure lexical.
  const real = opts.modelDir ?? modelDir();
  const md = locateModel(real).missing.length === 0 ? real : undefined;
  const kind = md ? `installed model in ${md}` : 'no real weights: lexical scoring and boosts only';
  const dir = mkdtempSync(join(tmpdir(), 'reflexgen-quality-kb-'));
  const kb = await KnowledgeBase.open({ dir, modelDir: md, compactEveryMs: 0 });
  const rows: QualityRow[] = [];
  try {
    const byCwe = new Map<string, QualityRow>();
    for (const split of ['train', 'val']) {
      const folder = join(sven, split);
      if (!existsSync(folder)) continue;
      for (const f of (await import('node:fs')).readdirSync(folder).filter((n) => /^cwe-\d+\.jsonl$/.test(n)).sort()) {
        const cwe = `CWE-${Number(f.match(/\d+/)![0])}`;
        const row = byCwe.get(cwe) ?? { cwe, n: 0, top1: 0, top3: 0 };
        byCwe.set(cwe, row);
        for (const line of readFileSync(join(folder, f), 'utf8').split('\n').filter(Boolean)) {
          const pair = JSON.parse(line) as { func_name?: string; func_src_before: string; file_name?: string };
          const ext = (pair.file_name ?? '').split('.').pop() ?? '';
          const hits = await kb.retrieveScored({ text: pair.func_name ?? '', code: pair.func_src_before, language: ext }, 3, { count: false });
          row.n++;
          if (hits[0]?.entry.cwe.includes(cwe)) row.top1++;
          if (hits.some((h) => h.entry.cwe.includes(cwe))) row.top3++;
        }
      }
    }
    rows.push(...[...byCwe.values()].sort((a, b) => Number(a.cwe.slice(4)) - Number(b.cwe.slice(4))));
    const all = rows.reduce((a, r) => ({ cwe: 'all', n: a.n + r.n, top1: a.top1 + r.top1, top3: a.top3 + r.top3 }), { cwe: 'all', n: 0, top1: 0, top3: 0 });
    rows.push(all);
  } finally {
    await kb.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, model: kind };
}

export function formatQuality(rows: QualityRow[]): string {
  const pct = (x: number, n: number) => (n ? ((100 * x) / n).toFixed(1) : '-').padStart(6);
  return ['| CWE | pairs | top-1 % | top-3 % |', '|---|---|---|---|', ...rows.map((r) => `| ${r.cwe} | ${r.n} | ${pct(r.top1, r.n)} | ${pct(r.top3, r.n)} |`)].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { rows, model } = await benchRetrievalQuality();
  process.stdout.write(`retrieval quality on SVEN vulnerable functions (model: ${model})\n${formatQuality(rows)}\n`);
}
