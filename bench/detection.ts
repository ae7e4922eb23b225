import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Finding, Language } from '../shared/findings.js';
import { languageOf } from '../shared/languages.js';
import { packageRoot } from '../shared/paths.js';
import { BuiltinRuleSet, initBuiltinRules, runBuiltinRules } from '../daemon/rules/engine.js';
import { dedent, inFamily } from './analyzers.js';

/*
 * `npm run eval:detection [-- --corpus <dir>] [--data <sven dir>] [--out <file.json>]`
 *
 * What the built-in tree-sitter rules catch and what they cost, in-process (no daemon, no other tool):
 *
 * (a) SVEN vulnerable/fixed function pairs (train + val, Python and C/C++), each version alone in a file
 *     (the whole file in scope). Per CWE and language: "vuln" = the vulnerable version has a finding of the
 *     CWE's family, "fixed" = the fixed version has one, "pair" = vulnerable flagged and fixed not.
 * (b) False alarms: blocking findings (severity warning or error, the default minSeverity) per 1,000 lines
 *     on a corpus of well-kept public projects, with the findings per rule. The corpus stays outside the
 *     repository; when it is missing the bench prints how to build it (CORPUS below) and skips (b).
 *
 * (c) With --cross-file: each corpus project's Python files, and its JavaScript/TypeScript files, as one
 *     staged set each (taint followed through the imports between them), blocking findings per 1,000
 *     lines next to the same files checked alone.
 *
 * A measurement, not a test: it never fails on bad numbers.
 */

/** The fixed false-alarm corpus: project, commit measured, unpacked under <corpus>/<owner+name>. */
export const CORPUS: readonly { repo: string; commit: string }[] = [
  { repo: 'pallets/flask', commit: '2ac89889f4cc330eabd50f295dcef02828522c69' },
  { repo: 'pallets/werkzeug', commit: '1b00618e787f40dfb21eba29caf8f8be7c8e1d93' },
  { repo: 'psf/requests', commit: '1f6589ec3a1ee910f9a65cc3ceac60b26677bc0e' },
  { repo: 'DaveGamble/cJSON', commit: 'a29814f285cc531c00223743ad3c55cd38c0dc56' },
  { repo: 'antirez/sds', commit: '5347739b1581fcba74fd5cab1fc21d2aef317d71' },
  { repo: 'expressjs/express', commit: 'a3714473feb3d2908add734d340e7755fd85e0a3' },
  // C projects beyond cJSON and sds, so the C rules' false alarms are measured on more than 24k lines.
  { repo: 'redis/hiredis', commit: '29ea2791c102fdffff350f1ea6e04d1f71903d0d' },
  { repo: 'madler/zlib', commit: 'd201f04c72b0881220f5ba75ca19fd0e19fa848b' },
  { repo: 'lua/lua', commit: '53b41d0cddd80bf33fdc631bdd32e3ba53842b89' },
  { repo: 'jqlang/jq', commit: '579e6f76cffd7643ba4002a2c3618a5ea710589a' },
];

const MAX_FILE_BYTES = 1_000_000;

interface Args {
  corpus: string;
  data: string;
  out: string;
  crossFile: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    corpus: '/tmp/corpus',
    data: join(packageRoot(), '..', 'shared', 'benchmarks', 'sven'),
    out: 'bench-results/detection.json',
    crossFile: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--corpus' && v) (a.corpus = v), i++;
    else if (argv[i] === '--data' && v) (a.data = v), i++;
    else if (argv[i] === '--out' && v) (a.out = v), i++;
    else if (argv[i] === '--cross-file') a.crossFile = true;
  }
  return a;
}

interface Pair {
  cwe: string;
  lang: 'py' | 'c';
  language: Language;
  before: string;
  after: string;
}

function loadPairs(data: string): Pair[] {
  const out: Pair[] = [];
  for (const split of ['train', 'val']) {
    const dir = join(data, 'train_val', split);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const m = /^cwe-(\d+)\.jsonl$/.exec(name);
      if (!m) continue;
      for (const l of readFileSync(join(dir, name), 'utf8').split('\n')) {
        if (!l.trim()) continue;
        const p = JSON.parse(l) as { file_name: string; func_src_before: string; func_src_after: string };
        const language = languageOf(p.file_name) ?? 'c';
        const py = language === 'python';
        if (!py && language !== 'c' && language !== 'cpp') continue;
        out.push({
          cwe: m[1],
          lang: py ? 'py' : 'c',
          language,
          before: py ? dedent(p.func_src_before) : p.func_src_before,
          after: py ? dedent(p.func_src_after) : p.func_src_after,
        });
      }
    }
  }
  return out;
}

export interface PairRow {
  cwe: string;
  lang: string;
  pairs: number;
  vuln: number;
  fixed: number;
  pair: number;
  /** Vulnerable version flagged by a blocking finding (warning or error) of the family. */
  vulnBlocking: number;
  /** Fixed version flagged by a blocking finding of the family. */
  fixedBlocking: number;
  rules: Record<string, number>;
  fixedRules: Record<string, number>;
}

const ext = (l: Language): string => (l === 'python' ? 'py' : l === 'cpp' ? 'cpp' : 'c');

export function pairTable(pairs: Pair[]): PairRow[] {
  const rows = new Map<string, PairRow>();
  const row = (cwe: string, lang: string): PairRow => {
    const k = `${cwe}/${lang}`;
    let r = rows.get(k);
    if (!r) rows.set(k, (r = { cwe, lang, pairs: 0, vuln: 0, fixed: 0, pair: 0, vulnBlocking: 0, fixedBlocking: 0, rules: {}, fixedRules: {} }));
    return r;
  };
  for (const p of pairs) {
    const hv = runBuiltinRules(`vuln.${ext(p.language)}`, p.language, p.before).filter((f) => inFamily(f, p.cwe));
    const hf = runBuiltinRules(`fixed.${ext(p.language)}`, p.language, p.after).filter((f) => inFamily(f, p.cwe));
    for (const r of [row(p.cwe, p.lang), row('all', p.lang)]) {
      r.pairs++;
      if (hv.length) r.vuln++;
      if (hf.length) r.fixed++;
      if (hv.length && !hf.length) r.pair++;
      if (hv.some((f) => f.severity !== 'note')) r.vulnBlocking++;
      if (hf.some((f) => f.severity !== 'note')) r.fixedBlocking++;
      for (const id of new Set(hv.map((f) => f.ruleId))) r.rules[id] = (r.rules[id] ?? 0) + 1;
      for (const id of new Set(hf.map((f) => f.ruleId))) r.fixedRules[id] = (r.fixedRules[id] ?? 0) + 1;
    }
  }
  return [...rows.values()].sort((a, b) => a.lang.localeCompare(b.lang) || (a.cwe === 'all' ? 1 : b.cwe === 'all' ? -1 : a.cwe.localeCompare(b.cwe)));
}

export interface CorpusResult {
  files: number;
  lines: number;
  blocking: number;
  perKloc: number;
  byRule: Record<string, number>;
  nonBlocking: number;
  notesByRule: Record<string, number>;
  projects: { repo: string; files: number; lines: number; blocking: number }[];
  samples: string[];
}

/** The analyzable source files under `dir` (no `.git` or `node_modules`, at most 1 MB each), sorted. */
export function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    if (name === '.git' || name === 'node_modules') continue;
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) yield* sourceFiles(p);
    else if (st.isFile() && st.size <= MAX_FILE_BYTES && languageOf(name)) yield p;
  }
}

export function corpusFalseAlarms(corpus: string): CorpusResult | null {
  const dirs = CORPUS.map((c) => ({ ...c, dir: join(corpus, c.repo.replace('/', '+')) }));
  if (dirs.some((d) => !existsSync(d.dir))) return null;
  const res: CorpusResult = { files: 0, lines: 0, blocking: 0, perKloc: 0, byRule: {}, nonBlocking: 0, notesByRule: {}, projects: [], samples: [] };
  for (const d of dirs) {
    const proj = { repo: d.repo, files: 0, lines: 0, blocking: 0 };
    for (const file of sourceFiles(d.dir)) {
      const language = languageOf(file)!;
      const content = readFileSync(file, 'utf8');
      const rel = relative(d.dir, file);
      proj.files++;
      proj.lines += content.split('\n').length;
      let findings: Finding[];
      try {
        findings = runBuiltinRules(rel, language, content);
      } catch (err) {
        process.stderr.write(`corpus: ${d.repo}/${rel}: ${(err as Error).message}\n`);
        continue;
      }
      for (const f of findings) {
        if (f.severity === 'note') {
          res.nonBlocking++;
          res.notesByRule[f.ruleId] = (res.notesByRule[f.ruleId] ?? 0) + 1;
          continue;
        }
        proj.blocking++;
        res.byRule[f.ruleId] = (res.byRule[f.ruleId] ?? 0) + 1;
        if (res.samples.length < 40) res.samples.push(`${d.repo}/${rel}:${f.startLine} ${f.ruleId} ${f.severity}`);
      }
    }
    res.files += proj.files;
    res.lines += proj.lines;
    res.blocking += proj.blocking;
    res.projects.push(proj);
  }
  res.perKloc = res.lines ? (1000 * res.blocking) / res.lines : 0;
  return res;
}

export interface CrossFileRow {
  repo: string;
  /** Which of the project's files form the set. */
  lang: 'python' | 'js';
  files: number;
  lines: number;
  /** Blocking findings with every file checked alone. */
  alone: number;
  /** Blocking findings with the project's files of that language as one staged set. */
  together: number;
  /** Milliseconds for the files alone, and as one set. */
  msAlone: number;
  ms: number;
  /** Findings the set adds (file:line rule severity). */
  added: string[];
}

const SET_LANGS: Record<CrossFileRow['lang'], readonly Language[]> = { python: ['python'], js: ['javascript', 'typescript'] };

/** The Python and the JS/TS files of each corpus project, each as one staged set, against the same files checked alone. */
export function crossFileFalseAlarms(corpus: string): CrossFileRow[] | null {
  const rows: CrossFileRow[] = [];
  for (const c of CORPUS) {
    const dir = join(corpus, c.repo.replace('/', '+'));
    if (!existsSync(dir)) return null;
    for (const lang of ['python', 'js'] as const) {
    const files: { path: string; language: Language; content: string }[] = [];
    for (const f of sourceFiles(dir)) {
      const language = languageOf(f);
      if (language && SET_LANGS[lang].includes(language)) files.push({ path: relative(dir, f), language, content: readFileSync(f, 'utf8') });
    }
    if (!files.length) continue;
    const row: CrossFileRow = { repo: c.repo, lang, files: files.length, lines: 0, alone: 0, together: 0, msAlone: 0, ms: 0, added: [] };
    const key = (f: Finding) => `${f.file}:${f.startLine} ${f.ruleId} ${f.severity}`;
    const before = new Set<string>();
    const t1 = performance.now();
    for (const f of files) {
      row.lines += f.content.split('\n').length;
      try {
        for (const x of runBuiltinRules(f.path, f.language, f.content)) if (x.severity !== 'note') (row.alone++, before.add(key(x)));
      } catch {
        /* counted the same way below: a file that does not parse has no findings in either */
      }
    }
    row.msAlone = Math.round(performance.now() - t1);
    const t0 = performance.now();
    const set = new BuiltinRuleSet(files);
    for (const f of files) {
      try {
        for (const x of set.run(f.path, f.language, f.content)) {
          if (x.severity === 'note') continue;
          row.together++;
          if (!before.has(key(x))) row.added.push(key(x));
        }
      } catch {
        /* see above */
      }
    }
    row.ms = Math.round(performance.now() - t0);
    rows.push(row);
    }
  }
  return rows;
}

const pct = (n: number, d: number): string => (d ? `${((100 * n) / d).toFixed(1)}%` : '-');

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const args = parseArgs(argv);
  await initBuiltinRules();
  const md: string[] = ['# Built-in rules: detection and false alarms', ''];

  const pairs = loadPairs(args.data);
  let rows: PairRow[] = [];
  if (pairs.length === 0) {
    md.push(`SVEN pairs not found under ${args.data}/train_val (pass --data <dir>).`, '');
  } else {
    const t0 = performance.now();
    rows = pairTable(pairs);
    const secs = (performance.now() - t0) / 1000;
    md.push(`## SVEN pairs (${pairs.length} pairs, ${(secs * 1000 / (2 * pairs.length)).toFixed(1)} ms/file)`, '');
    md.push(
      'Any severity counts (notes included); "blocking" columns count only warning/error findings.',
      '',
      '| CWE | lang | pairs | vuln | fixed | pair | vuln blocking | fixed blocking | rules on vulnerable (on fixed) |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const r of rows) {
      const rules = Object.entries(r.rules).sort((a, b) => b[1] - a[1]).slice(0, 4)
        .map(([k, v]) => `${k} ${v}${r.fixedRules[k] ? ` (${r.fixedRules[k]})` : ''}`).join(', ') || '-';
      md.push(`| ${r.cwe} | ${r.lang} | ${r.pairs} | ${r.vuln} (${pct(r.vuln, r.pairs)}) | ${r.fixed} (${pct(r.fixed, r.pairs)}) | ${r.pair} (${pct(r.pair, r.pairs)}) | ${r.vulnBlocking} (${pct(r.vulnBlocking, r.pairs)}) | ${r.fixedBlocking} (${pct(r.fixedBlocking, r.pairs)}) | ${rules} |`);
    }
    md.push('');
  }

  const corpus = existsSync(args.corpus) ? corpusFalseAlarms(args.corpus) : null;
  if (!corpus) {
    md.push(`## False alarms: corpus missing under ${args.corpus}`, '', 'Build it (outside the repository) with:', '');
    for (const c of CORPUS) {
      const d = c.repo.replace('/', '+');
      md.push(`    git clone https://github.com/${c.repo} /tmp/src-${d} && mkdir -p ${args.corpus}/${d} && git -C /tmp/src-${d} archive ${c.commit} | tar -x -C ${args.corpus}/${d}`);
    }
    md.push('', 'then rerun with --corpus <dir>.');
  } else {
    md.push(`## False alarms on public projects: ${corpus.blocking} blocking in ${corpus.lines} lines = ${corpus.perKloc.toFixed(2)} per 1,000 lines (${corpus.nonBlocking} non-blocking notes)`, '');
    md.push('| project | files | lines | blocking |', '|---|---|---|---|');
    for (const p of corpus.projects) md.push(`| ${p.repo} | ${p.files} | ${p.lines} | ${p.blocking} |`);
    md.push('', '| rule | blocking findings | notes |', '|---|---|---|');
    const ruleIds = [...new Set([...Object.keys(corpus.byRule), ...Object.keys(corpus.notesByRule)])];
    ruleIds.sort((a, b) => (corpus.byRule[b] ?? 0) - (corpus.byRule[a] ?? 0) || (corpus.notesByRule[b] ?? 0) - (corpus.notesByRule[a] ?? 0));
    for (const k of ruleIds) md.push(`| ${k} | ${corpus.byRule[k] ?? 0} | ${corpus.notesByRule[k] ?? 0} |`);
    if (corpus.samples.length) md.push('', 'First blocking findings:', '', ...corpus.samples.map((s) => `    ${s}`));
  }
  const cross = args.crossFile ? crossFileFalseAlarms(args.corpus) : null;
  if (cross) {
    const kloc = (n: number, l: number) => (l ? ((1000 * n) / l).toFixed(2) : '-');
    md.push('', '## Each project\'s Python files, and its JS/TS files, as one staged set (--cross-file)', '', '| project | files | lines | blocking alone | per 1,000 | blocking as one set | per 1,000 | ms alone | ms as a set |', '|---|---|---|---|---|---|---|---|---|');
    for (const r of cross) md.push(`| ${r.repo} (${r.lang === 'js' ? 'JS/TS' : 'Python'}) | ${r.files} | ${r.lines} | ${r.alone} | ${kloc(r.alone, r.lines)} | ${r.together} | ${kloc(r.together, r.lines)} | ${r.msAlone} | ${r.ms} |`);
    const lines = cross.reduce((n, r) => n + r.lines, 0);
    const alone = cross.reduce((n, r) => n + r.alone, 0);
    const together = cross.reduce((n, r) => n + r.together, 0);
    md.push(`| all | ${cross.reduce((n, r) => n + r.files, 0)} | ${lines} | ${alone} | ${kloc(alone, lines)} | ${together} | ${kloc(together, lines)} | ${cross.reduce((n, r) => n + r.msAlone, 0)} | ${cross.reduce((n, r) => n + r.ms, 0)} |`);
    for (const lang of ['python', 'js'] as const) {
      const rs = cross.filter((r) => r.lang === lang);
      const l = rs.reduce((n, r) => n + r.lines, 0);
      if (rs.length) md.push(`| all ${lang === 'js' ? 'JS/TS' : 'Python'} | ${rs.reduce((n, r) => n + r.files, 0)} | ${l} | ${rs.reduce((n, r) => n + r.alone, 0)} | ${kloc(rs.reduce((n, r) => n + r.alone, 0), l)} | ${rs.reduce((n, r) => n + r.together, 0)} | ${kloc(rs.reduce((n, r) => n + r.together, 0), l)} | | |`);
    }
    const addedAll = cross.flatMap((r) => r.added.map((a) => `${r.repo}/${a}`));
    if (addedAll.length) md.push('', 'Blocking findings the set adds:', '', ...addedAll.slice(0, 40).map((s) => `    ${s}`));
  } else if (args.crossFile) md.push('', `## Projects as one staged set: corpus missing under ${args.corpus}`);
  process.stdout.write(md.join('\n') + '\n');

  const out = resolve(args.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), pairs: rows, corpus, ...(cross ? { crossFile: cross } : {}) }, null, 2) + '\n');
  process.stderr.write(`wrote ${out}\n`);
}

if (process.argv[1] && resolve(process.argv[1]).replace(/\.ts$/, '.js').endsWith(join('bench', 'detection.js'))) {
  main().catch((err: unknown) => {
    process.stderr.write(`eval:detection failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  });
}
