import { performance } from 'node:perf_hooks';
import { initBuiltinRules, runBuiltinRules } from './engine.js';

/** Builds a ~`lines`-line file by repeating a realistic chunk (routes, SQL, loops, allocations). */
export function syntheticSource(language: 'python' | 'c', lines = 500): string {
  const chunk =
    language === 'python'
      ? (i: number) => `
@app.route("/item${i}")
def item${i}():
    name = request.args.get("name")
    safe = escape(name)
    cur = db.cursor()
    cur.execute("SELECT * FROM items WHERE name = %s", (name,))
    rows = [r for r in cur.fetchall() if r[0]]
    path = os.path.normpath(os.path.join(BASE, name))
    if not path.startswith(BASE):
        abort(400)
    return "<p>" + safe + "</p>"
`
      : (i: number) => `
int f${i}(int *arr, int size, int index) {
    char buf[64];
    int total = 0;
    char *p = malloc(size);
    if (p == NULL) return -1;
    for (int k = 0; k < size; k++) { total += arr[k]; }
    if (index >= 0 && index < size) total += arr[index];
    snprintf(buf, sizeof buf, "%d", total);
    free(p);
    return total;
}
`;
  let out = language === 'python' ? 'from flask import Flask, request, escape\nimport os\napp = Flask(__name__)\n' : '#include <stdio.h>\n#include <stdlib.h>\n';
  for (let i = 0; out.split('\n').length < lines; i++) out += chunk(i);
  return out;
}

export interface BenchResult {
  language: string;
  lines: number;
  /** Median of the warm runs, milliseconds. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  findings: number;
}

/** Times the rules warm (parsers loaded, one run discarded) on synthetic 500-line files. */
export async function benchBuiltinRules(runs = 20): Promise<BenchResult[]> {
  await initBuiltinRules();
  const results: BenchResult[] = [];
  for (const language of ['python', 'c'] as const) {
    const src = syntheticSource(language);
    const path = language === 'python' ? 'bench.py' : 'bench.c';
    let findings = runBuiltinRules(path, language, src).length;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      findings = runBuiltinRules(path, language, src).length;
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    results.push({
      language,
      lines: src.split('\n').length,
      medianMs: times[Math.floor(times.length / 2)],
      minMs: times[0],
      maxMs: times[times.length - 1],
      findings,
    });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchBuiltinRules()) {
    console.log(`${r.language}: ${r.lines} lines, median ${r.medianMs.toFixed(1)} ms, min ${r.minMs.toFixed(1)} ms, max ${r.maxMs.toFixed(1)} ms, ${r.findings} findings`);
  }
}
