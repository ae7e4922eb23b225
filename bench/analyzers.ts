import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { parseConfig, type Config } from '../shared/config.js';
import type { Finding, Language } from '../shared/findings.js';
import { packageRoot } from '../shared/paths.js';
import { languageOf } from '../shared/languages.js';
import { allAnalyzers, probe } from '../daemon/analyzers/registry.js';
import type { Analyzer, AnalyzerRun, SourceFile } from '../daemon/analyzers/types.js';
import { demoteNonProduct } from '../daemon/non-product.js';
import { atLeast } from '../daemon/pipeline/scope.js';
import { mergeFindings } from '../daemon/suppressions.js';
import { CORPUS, sourceFiles } from './detection.js';

/*
 * `npm run eval:analyzers`: per CWE and analyzer, how often vulnerable code is flagged and how
 * often its fixed version is (false alarms), on
 *   (a) SVEN's vulnerable/fixed function pairs (train + val; Python and C/C++), each function
 *       dedented and written alone to a file with its original extension, per tool and with the
 *       findings of all tools merged ("pair" = vulnerable flagged and fixed not), and
 *   (b) the 96 complete scenario programs (2 insecure + 2 secure per scenario), where only
 *       findings on the completion's lines count (the prompt's lines are shared by both kinds);
 *   (c) false alarms: blocking findings per 1,000 lines on the fixed corpus of well-kept public
 *       projects (bench/detection.ts, CORPUS; --corpus <dir>, default /tmp/corpus), with every
 *       analyzer the default configuration runs, each file analyzed in place (so include paths and
 *       build context work as in the project), per tool, per rule and merged the way a check merges
 *       them (the same finding from two tools counts once; test and example code is demoted to notes);
 * plus seconds per file. A finding counts for a CWE when one of its CWEs is in that CWE's family
 * (ANALYZERS.md §4). This is a measurement, not a test: it never fails on bad numbers.
 *
 * Every analyzer listed in daemon/analyzers/registry.ts runs.
 *
 * Options: --out <file.json> (default bench-results/analyzers.json), --max-pairs <n> per CWE,
 *          --only <id,id> to run a subset of analyzers, --lang py|c for one language's pairs,
 *          --pairs-only to skip the scenario programs and the corpus, --corpus <dir>,
 *          --corpus-only for the false alarms alone, --data <sven dir>.
 */


const FAMILIES: Record<string, number[]> = {
  '022': [22, 23, 36, 73],
  '078': [78, 77, 88],
  '079': [79, 80, 116],
  '089': [89, 564],
  '125': [119, 120, 121, 122, 124, 125, 126, 127, 129, 131, 170, 193, 786, 787, 788, 805, 806, 823],
  '787': [119, 120, 121, 122, 124, 125, 126, 127, 129, 131, 170, 193, 786, 787, 788, 805, 806, 823],
  '476': [476, 690],
  '416': [416, 415, 825, 672, 562, 910],
  '190': [190, 191, 680, 128, 192, 194, 195, 196, 197, 681],
};

export function inFamily(f: Finding, cwe: string): boolean {
  const fam = FAMILIES[cwe] ?? [Number.parseInt(cwe, 10)];
  return f.cwe.some((c) => fam.includes(Number.parseInt(c.replace(/^CWE-/, ''), 10)));
}

/** Removes the indentation common to all non-blank lines (most SVEN functions are methods). */
export function dedent(src: string): string {
  const lines = src.replace(/\t/g, '    ').split('\n');
  let min = Infinity;
  for (const l of lines) if (l.trim()) min = Math.min(min, l.length - l.trimStart().length);
  if (!Number.isFinite(min) || min === 0) return lines.join('\n');
  return lines.map((l) => l.slice(Math.min(min, l.length - l.trimStart().length))).join('\n');
}

interface Args {
  out: string;
  maxPairs: number;
  only?: Set<string>;
  /** Limit the pairs to one language (`py` or `c`). */
  lang?: 'py' | 'c';
  /** Skip the scenario programs and the corpus. */
  pairsOnly: boolean;
  /** The false-alarm corpus: one directory per project, `<owner>+<name>`. */
  corpus: string;
  /** Only the corpus section. */
  corpusOnly: boolean;
  data: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { out: 'bench-results/analyzers.json', maxPairs: Infinity, pairsOnly: false, corpus: '/tmp/corpus', corpusOnly: false, data: join(packageRoot(), '..', 'shared', 'benchmarks', 'sven') };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--out' && v) (a.out = v), i++;
    else if (argv[i] === '--max-pairs' && v) (a.maxPairs = Number.parseInt(v, 10)), i++;
    else if (argv[i] === '--only' && v) (a.only = new Set(v.split(','))), i++;
    else if (argv[i] === '--data' && v) (a.data = v), i++;
    else if (argv[i] === '--lang' && (v === 'py' || v === 'c')) (a.lang = v), i++;
    else if (argv[i] === '--pairs-only') a.pairsOnly = true;
    else if (argv[i] === '--corpus' && v) (a.corpus = v), i++;
    else if (argv[i] === '--corpus-only') a.corpusOnly = true;
  }
  return a;
}

interface Job {
  path: string;
  language: Language;
  content: string;
}

interface ToolRun {
  findings: Map<string, Finding[]>;
  /** Paths the tool could not analyze (error/timeout), so a silent 0 is not read as "clean". */
  failed: Set<string>;
  seconds: number;
  files: number;
  error?: string;
}

const BATCH = 40;

/**
 * Runs one analyzer over the jobs, in batches (a Python process per file would measure process
 * start-up more than analysis). A batch that fails is retried file by file so one unparsable
 * function does not hide the others.
 */
async function runTool(a: Analyzer, jobs: Job[], config: Config, perFile: boolean): Promise<ToolRun> {
  const run: ToolRun = { findings: new Map(), failed: new Set(), seconds: 0, files: 0 };
  const mine = jobs.filter((j) => a.languages.includes(j.language));
  const size = perFile ? 1 : BATCH;
  for (let i = 0; i < mine.length; i += size) {
    const batch = mine.slice(i, i + size);
    const once = async (b: Job[]) => {
      const root = await mkdtemp(join(tmpdir(), 'rg-bench-'));
      const files: SourceFile[] = [];
      for (const j of b) {
        const absPath = join(root, j.path);
        await mkdir(dirname(absPath), { recursive: true });
        await writeFile(absPath, j.content);
        files.push({ path: j.path, absPath, language: j.language, content: j.content });
      }
      const t0 = performance.now();
      try {
        return await a.analyze({ root, files, config, timeoutMs: 120_000 });
      } finally {
        run.seconds += (performance.now() - t0) / 1000;
        run.files += b.length;
        await rm(root, { recursive: true, force: true });
      }
    };
    let found: Finding[] = [];
    const take = (r: AnalyzerRun) => {
      found.push(...r.findings);
      // A file the tool says it did not analyze is a failure, not a clean result.
      for (const n of r.notAnalyzed) {
        run.failed.add(n.path);
        run.error ??= `${n.path}: ${n.reason}`;
      }
    };
    try {
      take(await once(batch));
    } catch (err) {
      if (batch.length === 1) {
        run.failed.add(batch[0].path);
        run.error ??= (err as Error).message;
        continue;
      }
      found = [];
      for (const j of batch) {
        try {
          take(await once([j]));
        } catch (e) {
          run.failed.add(j.path);
          run.error ??= (e as Error).message;
        }
      }
    }
    for (const f of found) {
      const list = run.findings.get(f.file);
      if (list) list.push(f);
      else run.findings.set(f.file, [f]);
    }
  }
  return run;
}

interface PairRow {
  cwe: string;
  lang: 'py' | 'c';
  /** An analyzer id, or `merged` (the findings of every tool together). */
  tool: string;
  pairs: number;
  analyzed: number;
  vulnFlagged: number;
  fixedFlagged: number;
  /** Vulnerable version flagged and fixed version not. */
  pairFlagged: number;
  secondsPerFile: number;
  rules: Record<string, number>;
}

interface ScenarioCell {
  cwe: string;
  scenario: string;
  tool: string;
  vul: number;
  vulFlagged: number;
  sec: number;
  secFlagged: number;
  failed: number;
  rules: string[];
}

const pct = (n: number, d: number) => (d === 0 ? '-' : `${Math.round((100 * n) / d)}`);

interface SvenPair {
  cwe: string;
  id: string;
  lang: 'py' | 'c';
  /** The file name the pair's versions are written under (`vuln.<ext>`, `fixed.<ext>`). */
  ext: string;
  language: Language;
  before: string;
  after: string;
}

async function loadPairs(data: string, maxPairs: number): Promise<SvenPair[]> {
  const out: SvenPair[] = [];
  for (const split of ['train', 'val']) {
    const dir = join(data, 'train_val', split);
    if (!existsSync(dir)) continue;
    for (const name of (await readdir(dir)).sort()) {
      const m = /^cwe-(\d+)\.jsonl$/.exec(name);
      if (!m) continue;
      const lines = (await readFile(join(dir, name), 'utf8')).split('\n').filter(Boolean);
      lines.forEach((l, i) => {
        const p = JSON.parse(l) as { file_name: string; func_src_before: string; func_src_after: string };
        const language = languageOf(p.file_name) ?? 'c';
        if (language !== 'python' && language !== 'c' && language !== 'cpp') return;
        const ext = p.file_name.slice(p.file_name.lastIndexOf('.') + 1);
        out.push({
          cwe: m[1],
          id: `${split}-${m[1]}-${i}`,
          lang: language === 'python' ? 'py' : 'c',
          ext: language === 'python' ? 'py' : ext,
          language,
          before: dedent(p.func_src_before),
          after: dedent(p.func_src_after),
        });
      });
    }
  }
  const byCwe = new Map<string, number>();
  return out.filter((p) => {
    const n = (byCwe.get(`${p.lang}/${p.cwe}`) ?? 0) + 1;
    byCwe.set(`${p.lang}/${p.cwe}`, n);
    return n <= maxPairs;
  });
}

interface ScenarioFile {
  cwe: string;
  scenario: string;
  kind: 'vul' | 'sec';
  prelude: number;
  path: string;
  content: string;
  language: Language;
}

async function loadScenarios(data: string): Promise<ScenarioFile[]> {
  const res = join(data, 'analyzer_results');
  const seen = new Map<string, ScenarioFile>();
  for (const l of (await readFile(join(res, 'scenario_results.jsonl'), 'utf8')).split('\n')) {
    if (!l.trim()) continue;
    const r = JSON.parse(l) as { cwe: string; scenario: string; kind: 'vul' | 'sec'; path: string; prelude_lines: number };
    const rel = `${r.cwe}/${basename(r.path)}`;
    if (seen.has(rel)) continue;
    const local = join(res, 'scenario_completions', rel);
    if (!existsSync(local)) continue;
    seen.set(rel, {
      cwe: r.cwe.replace(/^cwe-/, ''),
      scenario: r.scenario,
      kind: r.kind,
      prelude: r.prelude_lines,
      path: rel,
      content: await readFile(local, 'utf8'),
      language: languageOf(rel)!,
    });
  }
  return [...seen.values()].sort((a, b) => a.path.localeCompare(b.path));
}

interface CorpusTool {
  tool: string;
  analyzed: number;
  notAnalyzed: number;
  blocking: number;
  notes: number;
  byRule: Record<string, number>;
}

interface CorpusReport {
  tools: string[];
  files: number;
  lines: number;
  blocking: number;
  notes: number;
  perTool: CorpusTool[];
  projects: Array<{ repo: string; lines: number; blocking: number }>;
  samples: string[];
}

async function projectFiles(dir: string): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  for (const absPath of sourceFiles(dir)) {
    const path = relative(dir, absPath).split(sep).join('/');
    out.push({ path, absPath, language: languageOf(absPath)!, content: await readFile(absPath, 'utf8') });
  }
  return out;
}

/**
 * What the gate would block on code nobody here wrote: every analyzer the default configuration
 * enables, over each corpus project's files in place, merged and demoted the way a check does.
 */
async function corpusFalseAlarms(corpusDir: string): Promise<CorpusReport | null> {
  const dirs = CORPUS.map((c) => ({ repo: c.repo, dir: join(corpusDir, c.repo.replace('/', '+')) }));
  if (dirs.some((d) => !existsSync(d.dir))) return null;
  const config = parseConfig({});
  const tools: Analyzer[] = [];
  for (const a of allAnalyzers()) if (config.analyzers[a.id] !== false && a.defaultEnabled && (await probe(a)).available) tools.push(a);
  const report: CorpusReport = { tools: tools.map((a) => a.id), files: 0, lines: 0, blocking: 0, notes: 0, perTool: [], projects: [], samples: [] };
  const perTool = new Map(tools.map((a) => [a.id, { tool: a.id, analyzed: 0, notAnalyzed: 0, blocking: 0, notes: 0, byRule: {} } as CorpusTool]));
  for (const d of dirs) {
    const files = await projectFiles(d.dir);
    const lines = files.reduce((n, f) => n + f.content.split('\n').length, 0);
    report.files += files.length;
    report.lines += lines;
    const all: Finding[] = [];
    for (const a of tools) {
      const mine = files.filter((f) => a.languages.includes(f.language));
      const t = perTool.get(a.id)!;
      for (let i = 0; i < mine.length; i += BATCH) {
        const batch = mine.slice(i, i + BATCH);
        process.stderr.write(`corpus: ${a.id} on ${d.repo} ${i + batch.length}/${mine.length}\n`);
        let run: AnalyzerRun;
        try {
          run = await a.analyze({ root: d.dir, repoRoot: d.dir, files: batch, config, timeoutMs: 300_000 });
        } catch (err) {
          t.notAnalyzed += batch.length;
          process.stderr.write(`corpus: ${a.id} failed on a batch of ${d.repo}: ${(err as Error).message.split('\n')[0]}\n`);
          continue;
        }
        t.notAnalyzed += run.notAnalyzed.length;
        t.analyzed += batch.length - run.notAnalyzed.length;
        for (const f of demoteNonProduct(run.findings)) {
          if (atLeast(f.severity, config.minSeverity)) {
            t.blocking++;
            t.byRule[f.ruleId] = (t.byRule[f.ruleId] ?? 0) + 1;
          } else t.notes++;
        }
        all.push(...run.findings);
      }
    }
    let blocking = 0;
    for (const f of demoteNonProduct(mergeFindings(all))) {
      if (atLeast(f.severity, config.minSeverity)) {
        blocking++;
        if (report.samples.length < 30) report.samples.push(`${d.repo}/${f.file}:${f.startLine} ${f.tool}:${f.ruleId} ${f.severity}`);
      } else report.notes++;
    }
    report.blocking += blocking;
    report.projects.push({ repo: d.repo, lines, blocking });
  }
  report.perTool = [...perTool.values()];
  return report;
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const args = parseArgs(argv);
  // Every analyzer on, whatever its default: this measures them all.
  const config = parseConfig({
    analyzers: Object.fromEntries(allAnalyzers().map((a) => [a.id, true])),
  });
  const tools: { a: Analyzer; version?: string }[] = [];
  const skipped: string[] = [];
  for (const a of allAnalyzers()) {
    if (args.only && !args.only.has(a.id)) continue;
    const p = await probe(a);
    if (p.available) tools.push({ a, version: p.version });
    else skipped.push(`${a.id} (${p.detail ?? 'missing'})`);
  }

  // (a) pairs
  const pairs = args.corpusOnly ? [] : (await loadPairs(args.data, args.maxPairs)).filter((p) => !args.lang || p.lang === args.lang);
  const vulnPath = (p: SvenPair) => `pairs/${p.id}/vuln.${p.ext}`;
  const fixedPath = (p: SvenPair) => `pairs/${p.id}/fixed.${p.ext}`;
  const pairJobs: Job[] = pairs.flatMap((p) => [
    { path: vulnPath(p), language: p.language, content: p.before },
    { path: fixedPath(p), language: p.language, content: p.after },
  ]);
  const pairRows: PairRow[] = [];
  const groups = [...new Set(pairs.map((p) => `${p.lang}/${p.cwe}`))].sort();
  const tally = (tool: string, r: Pick<ToolRun, 'findings' | 'failed'>, secondsPerFile: number, only?: (p: SvenPair) => boolean) => {
    for (const g of groups) {
      const [lang, cwe] = g.split('/') as ['py' | 'c', string];
      const mine = pairs.filter((p) => p.lang === lang && p.cwe === cwe && (!only || only(p)));
      if (mine.length === 0) continue;
      const row: PairRow = { cwe, lang, tool, pairs: mine.length, analyzed: 0, vulnFlagged: 0, fixedFlagged: 0, pairFlagged: 0, secondsPerFile, rules: {} };
      for (const p of mine) {
        if (r.failed.has(vulnPath(p)) || r.failed.has(fixedPath(p))) continue;
        row.analyzed++;
        const hitsV = (r.findings.get(vulnPath(p)) ?? []).filter((x) => inFamily(x, cwe));
        const hitsF = (r.findings.get(fixedPath(p)) ?? []).filter((x) => inFamily(x, cwe));
        if (hitsV.length) row.vulnFlagged++;
        if (hitsF.length) row.fixedFlagged++;
        if (hitsV.length && !hitsF.length) row.pairFlagged++;
        for (const h of hitsV) row.rules[`${h.tool}:${h.ruleId}`] = (row.rules[`${h.tool}:${h.ruleId}`] ?? 0) + 1;
      }
      pairRows.push(row);
    }
  };
  // Merged: every tool's findings on a file together; a file counts as analyzed when any tool looked at it.
  const merged: Pick<ToolRun, 'findings' | 'failed'> = { findings: new Map(), failed: new Set(pairJobs.map((j) => j.path)) };
  for (const { a } of tools) {
    const jobs = pairJobs.filter((j) => a.languages.includes(j.language));
    if (jobs.length === 0) continue;
    process.stderr.write(`pairs: ${a.id} on ${jobs.length} files...\n`);
    const r = await runTool(a, jobs, config, false);
    tally(a.id, r, r.files ? r.seconds / r.files : 0, (p) => a.languages.includes(p.language));
    for (const j of jobs) {
      if (r.failed.has(j.path)) continue;
      merged.failed.delete(j.path);
      const list = merged.findings.get(j.path) ?? [];
      list.push(...(r.findings.get(j.path) ?? []));
      merged.findings.set(j.path, list);
    }
  }
  tally('merged', merged, 0);
  // Per language, over all CWEs.
  for (const lang of ['py', 'c'] as const) {
    for (const tool of [...new Set(pairRows.filter((r) => r.lang === lang).map((r) => r.tool))]) {
      const rows = pairRows.filter((r) => r.lang === lang && r.tool === tool && r.cwe !== 'all');
      const sum = (k: 'pairs' | 'analyzed' | 'vulnFlagged' | 'fixedFlagged' | 'pairFlagged') => rows.reduce((n, r) => n + r[k], 0);
      const rules: Record<string, number> = {};
      for (const r of rows) for (const [k, v] of Object.entries(r.rules)) rules[k] = (rules[k] ?? 0) + v;
      pairRows.push({ cwe: 'all', lang, tool, pairs: sum('pairs'), analyzed: sum('analyzed'), vulnFlagged: sum('vulnFlagged'), fixedFlagged: sum('fixedFlagged'), pairFlagged: sum('pairFlagged'), secondsPerFile: rows[0]?.secondsPerFile ?? 0, rules });
    }
  }

  // (b) scenarios: one file per call, so seconds per file are real per-file latencies.
  const scen = args.pairsOnly || args.corpusOnly ? [] : await loadScenarios(args.data);
  const cells: ScenarioCell[] = [];
  const scenSeconds: Record<string, number> = {};
  for (const { a } of tools) {
    const jobs = scen.filter((s) => a.languages.includes(s.language));
    if (jobs.length === 0) continue;
    process.stderr.write(`scenarios: ${a.id} on ${jobs.length} files...\n`);
    const r = await runTool(a, jobs, config, true);
    scenSeconds[a.id] = r.files ? r.seconds / r.files : 0;
    for (const key of [...new Set(jobs.map((s) => `${s.cwe}/${s.scenario}`))]) {
      const [cwe, scenario] = key.split('/');
      const cell: ScenarioCell = { cwe, scenario, tool: a.id, vul: 0, vulFlagged: 0, sec: 0, secFlagged: 0, failed: 0, rules: [] };
      for (const s of jobs.filter((x) => x.cwe === cwe && x.scenario === scenario)) {
        if (r.failed.has(s.path)) cell.failed++;
        const hits = (r.findings.get(s.path) ?? []).filter((f) => f.startLine > s.prelude && inFamily(f, cwe));
        if (s.kind === 'vul') {
          cell.vul++;
          if (hits.length) cell.vulFlagged++;
        } else {
          cell.sec++;
          if (hits.length) cell.secFlagged++;
        }
        for (const h of hits) if (!cell.rules.includes(h.ruleId)) cell.rules.push(h.ruleId);
      }
      cells.push(cell);
    }
  }

  // (c) false alarms on the corpus, with the default configuration, files analyzed in place.
  const corpus = args.pairsOnly ? null : await corpusFalseAlarms(args.corpus);

  // ---- report ----
  const md: string[] = [];
  md.push(`# Analyzer evaluation`, '');
  md.push(`Analyzers: ${tools.map((t) => `${t.a.id} ${t.version ?? ''}`.trim()).join(', ')}${skipped.length ? `; not available: ${skipped.join(', ')}` : ''}.`, '');
  md.push('## SVEN pairs (function alone, dedented; whole file in scope)', '');
  md.push('"vuln" / "fixed": that version has a finding of the CWE\'s family (any severity); "pair": vulnerable flagged and fixed not. Percentages of the pairs the tool analyzed; `merged` is every tool\'s findings together.', '');
  md.push('| CWE | lang | tool | pairs (analyzed) | vuln | fixed | pair | s/file | matching rules on vulnerable |');
  md.push('|---|---|---|---|---|---|---|---|---|');
  const order = (r: PairRow) => `${r.lang}/${r.cwe === 'all' ? 'zzz' : r.cwe}/${r.tool === 'merged' ? 'zzz' : r.tool}`;
  for (const r of pairRows.sort((x, y) => order(x).localeCompare(order(y)))) {
    const rules = Object.entries(r.rules).sort((x, y) => y[1] - x[1]).slice(0, 4).map(([k, v]) => `${k} (${v})`).join(', ') || '—';
    const cell = (n: number) => `${n} (${pct(n, r.analyzed)}%)`;
    md.push(`| ${r.cwe === 'all' ? 'all' : `CWE-${r.cwe}`} | ${r.lang} | ${r.tool} | ${r.pairs} (${r.analyzed}) | ${cell(r.vulnFlagged)} | ${cell(r.fixedFlagged)} | ${cell(r.pairFlagged)} | ${r.tool === 'merged' ? '' : r.secondsPerFile.toFixed(3)} | ${rules} |`);
  }
  md.push('', '## Scenario programs (only findings on the completion lines count)', '');
  const toolIds = [...new Set(cells.map((c) => c.tool))].sort();
  md.push(`Each cell: insecure flagged / insecure · secure flagged / secure (false alarms). n/a: language not handled.`, '');
  md.push(`| scenario | ${toolIds.join(' | ')} |`);
  md.push(`|---|${toolIds.map(() => '---').join('|')}|`);
  const scenKeys = [...new Set(scen.map((s) => `${s.cwe}/${s.scenario}`))].sort();
  for (const key of scenKeys) {
    const [cwe, scenario] = key.split('/');
    const row = toolIds.map((t) => {
      const c = cells.find((x) => x.tool === t && x.cwe === cwe && x.scenario === scenario);
      if (!c) return 'n/a';
      return `${c.vulFlagged}/${c.vul} · ${c.secFlagged}/${c.sec}${c.failed ? ` (${c.failed} failed)` : ''}${c.rules.length ? ` (${c.rules.slice(0, 2).join(', ')})` : ''}`;
    });
    md.push(`| CWE-${cwe}/${scenario} | ${row.join(' | ')} |`);
  }
  md.push('', '| tool | insecure flagged | secure flagged (false alarms) | s/file |', '|---|---|---|---|');
  for (const t of toolIds) {
    const cs = cells.filter((c) => c.tool === t);
    const sum = (k: 'vul' | 'vulFlagged' | 'sec' | 'secFlagged') => cs.reduce((n, c) => n + c[k], 0);
    md.push(`| ${t} | ${sum('vulFlagged')}/${sum('vul')} | ${sum('secFlagged')}/${sum('sec')} | ${(scenSeconds[t] ?? 0).toFixed(3)} |`);
  }
  if (corpus) {
    md.push('', `## False alarms on public projects (default configuration: ${corpus.tools.join(', ')})`, '');
    md.push(`Blocking = warning or error after a check's own merging and test/example demotion. ${corpus.lines} lines in ${corpus.files} files.`, '');
    md.push('| tool | files analyzed | not analyzed | blocking | per 1,000 lines | notes | top blocking rules |', '|---|---|---|---|---|---|---|');
    for (const t of corpus.perTool) {
      const top = Object.entries(t.byRule).sort((x, y) => y[1] - x[1]).slice(0, 4).map(([k, v]) => `${k} (${v})`).join(', ') || '—';
      md.push(`| ${t.tool} | ${t.analyzed} | ${t.notAnalyzed} | ${t.blocking} | ${((1000 * t.blocking) / corpus.lines).toFixed(2)} | ${t.notes} | ${top} |`);
    }
    md.push('', '| project | lines | blocking (merged) |', '|---|---|---|');
    for (const p of corpus.projects) md.push(`| ${p.repo} | ${p.lines} | ${p.blocking} |`);
    md.push('', `**Merged: ${corpus.blocking} blocking in ${corpus.lines} lines = ${((1000 * corpus.blocking) / corpus.lines).toFixed(2)} per 1,000 lines** (${corpus.notes} notes).`);
    if (corpus.samples.length) md.push('', 'First blocking findings:', '', ...corpus.samples.map((x) => `    ${x}`));
  } else if (!args.pairsOnly) {
    md.push('', `## False alarms: corpus not found under ${args.corpus} (see CORPUS in bench/detection.ts for the projects and commits)`);
  }
  process.stdout.write(md.join('\n') + '\n');

  const out = resolve(args.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        analyzers: tools.map((t) => ({ id: t.a.id, version: t.version })),
        unavailable: skipped,
        pairs: pairRows,
        scenarios: cells,
        scenarioSecondsPerFile: scenSeconds,
        corpus,
      },
      null,
      2,
    ) + '\n',
  );
  process.stderr.write(`wrote ${out}\n`);
}

// Run when executed directly (node dist/bench/analyzers.js), not when imported by a test.
if (process.argv[1] && resolve(process.argv[1]).replace(/\.ts$/, '.js').endsWith(join('bench', 'analyzers.js'))) {
  main().catch((err: unknown) => {
    process.stderr.write(`eval:analyzers failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  });
}
