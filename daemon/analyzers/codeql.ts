import { createHash } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, statSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { analyzerArgs } from '../../shared/config.js';
import type { Finding, Language } from '../../shared/findings.js';
import { stateDir } from '../../shared/paths.js';
import { probeVersion, runTool } from './process.js';
import { findingsFromSarif } from './sarif-import.js';
import type { AnalyzeContext, Analyzer, AnalyzerRun, ProbeResult, SourceFile } from './types.js';
import { ToolMissingError } from './types.js';

/*
 * CodeQL, from the real CLI, over the staged snapshot.
 *
 * CodeQL needs a database per snapshot (tens of seconds to minutes), far more than a commit
 * should wait. So every run goes through `runCodeqlWithBudget`:
 *
 *   const r = await runCodeqlWithBudget(ctx, budgetMs);
 *   r.pending === false -> r.findings are CodeQL's findings for this snapshot (maybe from cache).
 *   r.pending === true  -> CodeQL is still running; r.findings is [] and r.detail says
 *                          "deep analysis still running". The run continues in the background,
 *                          writes its SARIF into the cache, and the next check of the same
 *                          snapshot (same paths, same content) answers from it instantly.
 *                          r.done resolves with the findings when it finishes (never rejects:
 *                          failures resolve to [] and are reported by the next check).
 *
 * `codeqlAnalyzer.analyze` returns `AnalyzerRun.pending` with that detail, and the pipeline
 * reports the analyzer as pending instead of "ok, nothing found".
 *
 * Budget: `budgetMs=<n>` in the analyzer's `args`, else ctx.timeoutMs (the analyzer's timeout is
 * what the commit waits). Each CodeQL process is separately limited by `hardTimeoutMs=<n>`
 * (default 30 min). The commit's AbortSignal is deliberately not passed to the background run: a
 * client hanging up should not throw away work the next commit will want. `cancelCodeqlRuns()`
 * kills everything at daemon shutdown.
 *
 * Other `args` (config `analyzers.codeql.args`):
 *   suite=<suite|pack>            queries for every language (repeatable)
 *   suite.<python|cpp|javascript>=<suite|pack>   per language (repeatable)
 *   build=<shell command>         C/C++ build command run by `database create --command`
 *   build-mode=none               C/C++ without a build (CodeQL >= 2.19)
 *   threads=<n>, ram=<mb>         passed to both CodeQL commands
 *   any --flag                    passed through to `database analyze`
 * Without `build`, C/C++ is built by a generated script that runs `gcc -c` (`g++ -c`) on each file.
 *
 * Cache: <stateDir>/codeql/<snapshot hash>/{src,db,*.sarif}; the hash covers CodeQL's version, the
 * language, the build settings and every file's path and content. The 8 most recent snapshots are kept.
 */

export type CodeqlLanguage = 'python' | 'cpp' | 'javascript';

const DEFAULT_SUITES: Record<CodeqlLanguage, string> = {
  python: 'codeql/python-queries:codeql-suites/python-security-extended.qls',
  cpp: 'codeql/cpp-queries:codeql-suites/cpp-security-extended.qls',
  javascript: 'codeql/javascript-queries:codeql-suites/javascript-security-extended.qls',
};

const KEEP_SNAPSHOTS = 8;
const DEFAULT_HARD_TIMEOUT_MS = 30 * 60_000;

export function codeqlLanguageOf(lang: Language): CodeqlLanguage {
  if (lang === 'python') return 'python';
  if (lang === 'c' || lang === 'cpp') return 'cpp';
  return 'javascript';
}

export interface CodeqlOptions {
  suites: Partial<Record<CodeqlLanguage, string[]>>;
  allSuites: string[];
  buildCommand?: string;
  cppBuildModeNone: boolean;
  threads?: number;
  ram?: number;
  budgetMs?: number;
  hardTimeoutMs: number;
  analyzeExtra: string[];
}

export function parseCodeqlArgs(args: readonly string[]): CodeqlOptions {
  const o: CodeqlOptions = { suites: {}, allSuites: [], cppBuildModeNone: false, hardTimeoutMs: DEFAULT_HARD_TIMEOUT_MS, analyzeExtra: [] };
  for (const a of args) {
    if (a.startsWith('--')) {
      o.analyzeExtra.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq < 0) throw new Error(`codeql: analyzer arg "${a}" is not key=value or --flag`);
    const key = a.slice(0, eq);
    const value = a.slice(eq + 1);
    const num = () => {
      const n = Number.parseInt(value, 10);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`codeql: ${key} must be a positive integer`);
      return n;
    };
    if (key === 'suite') o.allSuites.push(value);
    else if (/^suite\.(python|cpp|javascript)$/.test(key)) {
      const lang = key.slice(6) as CodeqlLanguage;
      (o.suites[lang] ??= []).push(value);
    } else if (key === 'build') o.buildCommand = value;
    else if (key === 'build-mode') o.cppBuildModeNone = value === 'none';
    else if (key === 'threads') o.threads = num();
    else if (key === 'ram') o.ram = num();
    else if (key === 'budgetMs') o.budgetMs = num();
    else if (key === 'hardTimeoutMs') o.hardTimeoutMs = num();
    else throw new Error(`codeql: unknown analyzer arg "${key}"`);
  }
  return o;
}

function suitesFor(o: CodeqlOptions, lang: CodeqlLanguage): string[] {
  const s = [...o.allSuites, ...(o.suites[lang] ?? [])];
  return s.length ? s : [DEFAULT_SUITES[lang]];
}

/** `$REFLEXGEN_CODEQL`, else `codeql` on the PATH; undefined when neither is an executable file. */
export function findCodeql(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const isExe = (p: string) => {
    try {
      accessSync(p, fsConstants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (env.REFLEXGEN_CODEQL) return isExe(env.REFLEXGEN_CODEQL) ? env.REFLEXGEN_CODEQL : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'codeql');
    if (isExe(p)) return p;
  }
  return undefined;
}

export function codeqlCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'codeql');
}

function versionAtLeast(v: string | undefined, major: number, minor: number): boolean {
  const m = /(\d+)\.(\d+)/.exec(v ?? '');
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The default C/C++ "build": compile each file alone so CodeQL's tracer sees every translation unit. */
export function defaultBuildScript(files: readonly SourceFile[]): string {
  const lines = ['#!/bin/sh', '# generated by reflexgen: CodeQL traces these compilations', 'cd "$(dirname "$0")/src" || exit 1'];
  for (const f of files) {
    if (f.language !== 'c' && f.language !== 'cpp') continue;
    if (/\.(h|hh|hpp|hxx)$/i.test(f.path)) continue; // headers are extracted through the files including them
    const cc = f.language === 'cpp' ? 'g++ -std=gnu++17' : 'gcc -std=gnu11';
    // `|| true`: one file that does not compile must not lose the database for the others.
    lines.push(`${cc} -c -w -o /dev/null -I ${shQuote(dirname(f.path))} ${shQuote(f.path)} || true`);
  }
  return lines.join('\n') + '\n';
}

interface Group {
  lang: CodeqlLanguage;
  files: SourceFile[];
  key: string;
  dir: string;
  suites: string[];
  sarif: string;
}

function groupKey(lang: CodeqlLanguage, files: readonly SourceFile[], version: string, o: CodeqlOptions): string {
  const h = createHash('sha256');
  h.update(`v1\0${version}\0${lang}\0${o.buildCommand ?? ''}\0${o.cppBuildModeNone}\0`);
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    h.update(`${f.path}\0${createHash('sha256').update(f.content).digest('hex')}\0`);
  }
  return h.digest('hex').slice(0, 24);
}

const inflight = new Map<string, Promise<Finding[]>>();
let controller = new AbortController();

/** Kills every background CodeQL run (daemon shutdown). */
export function cancelCodeqlRuns(): void {
  controller.abort();
  controller = new AbortController();
}

async function readCachedSarif(g: Group): Promise<Finding[] | undefined> {
  let text: string;
  try {
    text = await readFile(g.sarif, 'utf8');
  } catch {
    return undefined;
  }
  const now = new Date();
  await utimes(g.dir, now, now).catch(() => undefined); // LRU: a hit keeps the snapshot alive
  return findingsFromSarif(JSON.parse(text), { tool: 'codeql', root: join(g.dir, 'src') });
}

async function runGroup(bin: string, version: string, g: Group, o: CodeqlOptions): Promise<Finding[]> {
  const cached = await readCachedSarif(g);
  if (cached) return cached;
  const src = join(g.dir, 'src');
  const db = join(g.dir, 'db');
  const created = join(g.dir, 'db.created');
  const common = [...(o.threads ? [`--threads=${o.threads}`] : []), ...(o.ram ? [`--ram=${o.ram}`] : [])];
  const run = async (args: string[]) => {
    const r = await runTool(bin, args, { cwd: g.dir, timeoutMs: o.hardTimeoutMs, signal: controller.signal });
    if (r.code !== 0) {
      const tail = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
      throw new Error(`codeql ${args.slice(0, 2).join(' ')} failed (exit ${r.code}): ${tail}`);
    }
  };

  if (!existsSync(created)) {
    // The snapshot dir belongs to the check and may be gone before a background run ends:
    // CodeQL works on its own copy.
    await rm(g.dir, { recursive: true, force: true });
    for (const f of g.files) {
      const p = join(src, f.path);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, f.content);
    }
    const args = ['database', 'create', db, `--language=${g.lang}`, '--source-root', src, '--overwrite', ...common];
    if (g.lang === 'cpp') {
      if (o.buildCommand) args.push(`--command=${o.buildCommand}`);
      else if (o.cppBuildModeNone) args.push('--build-mode=none');
      else {
        const script = join(g.dir, 'build.sh');
        await writeFile(script, defaultBuildScript(g.files), { mode: 0o755 });
        args.push(`--command=sh ${script}`);
      }
    } else if (versionAtLeast(version, 2, 16)) {
      // Python and JavaScript never need a build; older CLIs reject the flag.
      args.push('--build-mode=none');
    }
    await run(args);
    await writeFile(created, new Date().toISOString());
  }
  const tmp = `${g.sarif}.${process.pid}.tmp`;
  await run(['database', 'analyze', db, ...g.suites, '--format=sarif-latest', `--output=${tmp}`, ...common, ...o.analyzeExtra]);
  await rename(tmp, g.sarif);
  const findings = await readCachedSarif(g);
  if (!findings) throw new Error('codeql database analyze wrote no SARIF');
  return findings;
}

async function pruneCache(root: string, keep: number, busy: ReadonlySet<string>): Promise<void> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  const dirs = await Promise.all(
    names.map(async (n) => {
      const p = join(root, n);
      try {
        const s = await stat(p);
        return s.isDirectory() ? { p, t: s.mtimeMs } : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  const sorted = dirs.filter((d): d is { p: string; t: number } => !!d).sort((a, b) => b.t - a.t);
  for (const d of sorted.slice(keep)) if (!busy.has(d.p)) await rm(d.p, { recursive: true, force: true }).catch(() => undefined);
}

export interface CodeqlOutcome {
  findings: Finding[];
  pending: boolean;
  /** Set when pending: the line the report shows. */
  detail?: string;
  /** The complete result; never rejects (a failure resolves to []). */
  done: Promise<Finding[]>;
  /** Which languages were answered from the cache. */
  cachedLanguages: CodeqlLanguage[];
}

/**
 * Runs (or joins, or reads from cache) CodeQL over the snapshot and waits at most `budgetMs`.
 * Rejects only when CodeQL is missing or fails within the budget.
 */
export async function runCodeqlWithBudget(ctx: AnalyzeContext, budgetMs: number): Promise<CodeqlOutcome> {
  const bin = findCodeql();
  if (!bin) throw new ToolMissingError('codeql not found (put it on the PATH or set REFLEXGEN_CODEQL)');
  const version = (await codeqlProbe()).version ?? 'unknown';
  const o = parseCodeqlArgs(analyzerArgs(ctx.config, 'codeql'));
  const root = codeqlCacheDir();
  await mkdir(root, { recursive: true, mode: 0o700 });

  const byLang = new Map<CodeqlLanguage, SourceFile[]>();
  for (const f of ctx.files) {
    const l = codeqlLanguageOf(f.language);
    const list = byLang.get(l);
    if (list) list.push(f);
    else byLang.set(l, [f]);
  }
  const cachedLanguages: CodeqlLanguage[] = [];
  const runs: Promise<Finding[]>[] = [];
  for (const [lang, files] of byLang) {
    const key = groupKey(lang, files, version, o);
    const suites = suitesFor(o, lang);
    const qhash = createHash('sha256').update(JSON.stringify([suites, o.analyzeExtra])).digest('hex').slice(0, 12);
    const dir = join(root, key);
    const g: Group = { lang, files, key, dir, suites, sarif: join(dir, `results-${qhash}.sarif`) };
    if (existsSync(g.sarif)) cachedLanguages.push(lang);
    const id = `${key}/${qhash}`;
    let p = inflight.get(id);
    if (!p) {
      p = runGroup(bin, version, g, o).finally(() => {
        inflight.delete(id);
        const busy = new Set([...inflight.keys()].map((k) => join(root, k.split('/')[0])));
        void pruneCache(root, KEEP_SNAPSHOTS, busy);
      });
      inflight.set(id, p);
    }
    runs.push(p);
  }
  const all = Promise.all(runs).then((r) => r.flat());
  const done = all.catch(() => [] as Finding[]);

  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<'budget'>((resolve) => {
    timer = setTimeout(() => resolve('budget'), Math.max(0, budgetMs));
  });
  try {
    const first = await Promise.race([all, budget]);
    if (first === 'budget') {
      return {
        findings: [],
        pending: true,
        detail: 'deep analysis still running (CodeQL); its results will be used at the next check of these files',
        done,
        cachedLanguages,
      };
    }
    return { findings: first, pending: false, done, cachedLanguages };
  } finally {
    clearTimeout(timer);
  }
}

let probeCache: Promise<ProbeResult> | undefined;
let probedBin: string | undefined;

function codeqlProbe(): Promise<ProbeResult> {
  const bin = findCodeql();
  if (!probeCache || probedBin !== bin) {
    probedBin = bin;
    probeCache = (async (): Promise<ProbeResult> => {
      if (!bin) return { available: false, detail: 'codeql not found (put it on the PATH or set REFLEXGEN_CODEQL)' };
      const v = await probeVersion(bin, ['version', '--format=terse'], /^\s*(\d+\.\d+\.\d+\S*)/m);
      if (!v) return { available: false, detail: `${bin} did not answer \`codeql version\`` };
      return { available: true, version: v, detail: bin };
    })();
  }
  return probeCache;
}

export const codeqlAnalyzer: Analyzer = {
  id: 'codeql',
  title: 'CodeQL',
  languages: ['python', 'c', 'cpp', 'javascript', 'typescript'],
  granularity: 'snapshot',
  // On by default, but only where the CLI exists: a machine without it reports it "missing" via
  // the probe, not an error on every commit.
  get defaultEnabled(): boolean {
    return findCodeql() !== undefined;
  },

  probe: codeqlProbe,

  async analyze(ctx: AnalyzeContext): Promise<AnalyzerRun> {
    if (ctx.files.length === 0) return { findings: [], notAnalyzed: [] };
    const o = parseCodeqlArgs(analyzerArgs(ctx.config, 'codeql'));
    const r = await runCodeqlWithBudget(ctx, o.budgetMs ?? ctx.timeoutMs);
    return { findings: [...r.findings], notAnalyzed: [], ...(r.pending ? { pending: r.detail ?? 'deep analysis still running' } : {}) };
  },
};
