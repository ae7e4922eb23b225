import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/*
 * How many files of real C projects each C analyzer can actually analyze, the way the daemon runs
 * it: one staged file per check, written to a snapshot at its repo-relative path, with the
 * project's checkout as the work tree (repoRoot). A file counts as analyzed when the analyzer
 * neither threw nor listed it in notAnalyzed.
 *
 *   node dist/bench/c-corpus.js --corpus <dir with one project per subdirectory> [--impl <dist dir>]
 *        [--only gcc,clang,cppcheck] [--max-files n] [--timeout-ms 60000] [--file-timeout-ms n]
 *        [--out bench-results/c-corpus.json]
 *
 * --impl points at another build's dist/ (e.g. the previous release) to measure it on the same
 * corpus: its analyzers are loaded from there, and a result that is a plain array (the old
 * interface) is read as findings with nothing reported "not analyzed". The corpus is not part of
 * the repository (fetch e.g. cJSON and hiredis). Besides the corpus, a small project of our own
 * is measured: a use-after-free through a macro of include/util.h, a file whose header is missing,
 * and a header under lib/include/proj/ included as <proj/list.h>.
 */

interface Args {
  corpus?: string;
  impl: string;
  only: string[];
  maxFiles: number;
  out: string;
  timeoutMs: number;
  /** Per-file bound of the expensive passes (this build only: older ones have no such setting). */
  fileTimeoutMs?: number;
}

function parseArgs(argv: string[]): Args {
  const here = dirname(fileURLToPath(import.meta.url));
  const a: Args = { impl: resolve(here, '..'), only: ['gcc', 'clang', 'cppcheck'], maxFiles: Infinity, out: 'bench-results/c-corpus.json', timeoutMs: 60_000 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--corpus' && v) (a.corpus = resolve(v)), i++;
    else if (argv[i] === '--impl' && v) (a.impl = resolve(v)), i++;
    else if (argv[i] === '--only' && v) (a.only = v.split(',')), i++;
    else if (argv[i] === '--max-files' && v) (a.maxFiles = Number.parseInt(v, 10)), i++;
    else if (argv[i] === '--out' && v) (a.out = v), i++;
    else if (argv[i] === '--timeout-ms' && v) (a.timeoutMs = Number.parseInt(v, 10)), i++;
    else if (argv[i] === '--file-timeout-ms' && v) (a.fileTimeoutMs = Number.parseInt(v, 10)), i++;
  }
  return a;
}

interface LooseFinding {
  file: string;
  startLine: number;
  cwe: string[];
  ruleId: string;
}
interface LooseAnalyzer {
  id: string;
  probe(): Promise<{ available: boolean; version?: string; detail?: string }>;
  analyze(ctx: unknown): Promise<LooseFinding[] | { findings: LooseFinding[]; notAnalyzed: Array<{ path: string; reason: string }>; pending?: string }>;
}

async function loadImpl(dist: string, ids: string[]): Promise<{ analyzers: LooseAnalyzer[]; parseConfig: (raw: unknown) => unknown }> {
  const analyzers: LooseAnalyzer[] = [];
  for (const id of ids) {
    const mod = (await import(pathToFileURL(join(dist, 'daemon', 'analyzers', `${id}.js`)).href)) as Record<string, unknown>;
    const a = mod[`${id}Analyzer`] as LooseAnalyzer | undefined;
    if (!a) throw new Error(`${dist}: no ${id}Analyzer`);
    analyzers.push(a);
  }
  const cfg = (await import(pathToFileURL(join(dist, 'shared', 'config.js')).href)) as { parseConfig: (raw: unknown) => unknown };
  return { analyzers, parseConfig: cfg.parseConfig };
}

async function cFiles(root: string, max: number): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const e of (await readdir(join(root, rel), { withFileTypes: true })).sort((x, y) => x.name.localeCompare(y.name))) {
      if (e.name.startsWith('.')) continue;
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && /\.(c|h)$/.test(e.name)) out.push(p);
    }
  };
  await walk('');
  return out.slice(0, max);
}

/** Our own small project: what the build context is for, in three files. */
async function ownProject(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rg-own-c-'));
  const files: Record<string, string> = {
    'include/util.h': '#ifndef UTIL_H\n#define UTIL_H\n#include <stdlib.h>\n#define RELEASE(p) free(p)\n#endif\n',
    'src/main.c':
      '#include <stdio.h>\n#include <string.h>\n#include "util.h"\n\nint main(void) {\n    char *buf = malloc(64);\n    if (buf == NULL) return 1;\n    strcpy(buf, "hello");\n    RELEASE(buf);\n    printf("%s\\n", buf);\n    return 0;\n}\n',
    'src/bad.c': '#include "nothere.h"\nint g(void) { return NOTHERE; }\n',
    'lib/include/proj/list.h': '#ifndef PROJ_LIST_H\n#define PROJ_LIST_H\nstruct node { struct node *next; int v; };\nint list_len(const struct node *n);\n#endif\n',
    'lib/src/list.c': '#include <proj/list.h>\nint list_len(const struct node *n) {\n    int k = 0;\n    for (; n; n = n->next) k++;\n    return k;\n}\n',
  };
  for (const [p, c] of Object.entries(files)) {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await writeFile(join(dir, p), c);
  }
  return dir;
}

interface Row {
  project: string;
  tool: string;
  version?: string;
  files: number;
  analyzed: number;
  seconds: number;
  findings: number;
  /** First words of each "not analyzed" reason, counted. */
  reasons: Record<string, number>;
  /** Every file not analyzed, with the reason as reported. */
  notAnalyzed: Array<{ path: string; reason: string }>;
  /** For our own project: did the tool find the use-after-free on src/main.c:10? */
  uafFound?: boolean;
}

function reasonKey(r: string): string {
  const s = r.replace(/^not analyzed: /, '');
  if (/time bound exceeded/.test(s)) return 'time bound exceeded';
  if (/No such file or directory|file not found/.test(s)) return 'missing header';
  if (/did not finish within/.test(s)) return 'timeout';
  if (/Unexpected non-whitespace|JSON/.test(s)) return 'output not parsed';
  return s.replace(/^[^:]*:\d+(:\d+)?: /, '').slice(0, 60);
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const args = parseArgs(argv);
  const impl = await loadImpl(args.impl, args.only);
  const bound = args.fileTimeoutMs;
  const config = impl.parseConfig(bound ? { analyzers: { gcc: { fileTimeoutMs: bound }, clang: { fileTimeoutMs: bound } } } : {});
  const projects: Array<{ name: string; dir: string }> = [];
  if (args.corpus) {
    for (const e of (await readdir(args.corpus, { withFileTypes: true })).sort((x, y) => x.name.localeCompare(y.name))) {
      if (e.isDirectory() && !e.name.startsWith('.')) projects.push({ name: e.name, dir: join(args.corpus, e.name) });
    }
  }
  const own = await ownProject();
  projects.push({ name: 'own (include/, <proj/x.h>, missing header)', dir: own });
  const rows: Row[] = [];
  try {
    for (const a of impl.analyzers) {
      const p = await a.probe();
      if (!p.available) {
        process.stderr.write(`${a.id}: not available (${p.detail ?? ''})\n`);
        continue;
      }
      for (const proj of projects) {
        const files = await cFiles(proj.dir, args.maxFiles);
        const row: Row = { project: proj.name, tool: a.id, version: p.version, files: files.length, analyzed: 0, seconds: 0, findings: 0, reasons: {}, notAnalyzed: [] };
        for (const path of files) {
          const root = await mkdtemp(join(tmpdir(), 'rg-ccorpus-'));
          const absPath = join(root, path);
          await mkdir(dirname(absPath), { recursive: true });
          await cp(join(proj.dir, path), absPath);
          const content = await readFile(absPath, 'utf8');
          const t0 = performance.now();
          let why: string | undefined;
          let findings: LooseFinding[] = [];
          try {
            const r = await a.analyze({ root, repoRoot: proj.dir, files: [{ path, absPath, language: 'c', content }], config, timeoutMs: args.timeoutMs });
            if (Array.isArray(r)) findings = r;
            else {
              findings = r.findings;
              why = r.notAnalyzed.find((n) => n.path === path)?.reason;
            }
          } catch (err) {
            why = ((err as Error).message || String(err)).split('\n')[0];
          } finally {
            row.seconds += (performance.now() - t0) / 1000;
            await rm(root, { recursive: true, force: true });
          }
          if (why === undefined) row.analyzed++;
          else {
            row.notAnalyzed.push({ path, reason: why });
            const k = reasonKey(why);
            row.reasons[k] = (row.reasons[k] ?? 0) + 1;
          }
          row.findings += findings.length;
          if (proj.dir === own && path === 'src/main.c') row.uafFound = findings.some((f) => f.startLine === 10 && f.cwe.includes('CWE-416'));
          process.stderr.write(`\r${a.id} ${proj.name.slice(0, 20)} ${row.analyzed}/${row.files}            `);
        }
        process.stderr.write('\n');
        rows.push(row);
      }
    }
  } finally {
    await rm(own, { recursive: true, force: true });
  }

  const md: string[] = [`# C corpus: files each analyzer could analyze (${relative(process.cwd(), args.impl) || '.'})`, ''];
  md.push('| project | tool | analyzed / files | share | s/file | findings | not analyzed, by reason | use-after-free via include/util.h |');
  md.push('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const reasons = Object.entries(r.reasons).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} (${v})`).join('; ') || '—';
    md.push(
      `| ${r.project} | ${r.tool} | ${r.analyzed}/${r.files} | ${r.files ? Math.round((100 * r.analyzed) / r.files) : 0}% | ${(r.seconds / Math.max(1, r.files)).toFixed(2)} | ${r.findings} | ${reasons} | ${r.uafFound === undefined ? '' : r.uafFound ? 'found' : 'missed'} |`,
    );
  }
  process.stdout.write(md.join('\n') + '\n');
  const out = resolve(args.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), impl: args.impl, rows }, null, 2) + '\n');
  process.stderr.write(`wrote ${out}\n`);
}

if (process.argv[1] && resolve(process.argv[1]).replace(/\.ts$/, '.js').endsWith(join('bench', 'c-corpus.js'))) {
  // exit() also ends any run still finishing in the background (its process group is killed on exit).
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`c-corpus failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(2);
    },
  );
}
