import { createHash } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { readSarifText, SarifTooLarge } from './sarif-file.js';
import { delimiter, dirname, join } from 'node:path';
import { analyzerArgs, type CODEQL_SUITES, type Config } from '../../shared/config.js';
import type { Finding, Language } from '../../shared/findings.js';
import { stateDir } from '../../shared/paths.js';
import { asOperand, buildContext, compilerFlags, type FileBuild } from './build-context.js';
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
 * `codeqlAnalyzer.analyze` returns `pending` with that line when the run is still going.
 *
 * Budget: the analyzer's timeout (`analyzers.codeql.timeoutMs`, else `analyzerTimeoutMs`) is what
 * the commit waits. Each CodeQL process is separately limited (30 min). The commit's AbortSignal
 * is deliberately not passed to the background run: a client hanging up should not throw away
 * work the next commit will want. `cancelCodeqlRuns()` kills everything at daemon shutdown.
 *
 * A repository chooses nothing on CodeQL's command line but one of a fixed list of query suites
 * (`analyzers.codeql.suite`: default, security-extended, security-and-quality): no build command,
 * no output path, no extra flags. C/C++ is "built" by a generated script that runs `gcc -c`
 * (`g++ -c`) on each file with the build context's safe flags (build-context.ts).
 *
 * Cache: <stateDir>/codeql/<snapshot hash>/{src,db,*.sarif}; the hash covers CodeQL's version, the
 * language, the build settings and every file's path and content. The 8 most recent snapshots are kept.
 */

export type CodeqlLanguage = 'python' | 'cpp' | 'javascript';

const KEEP_SNAPSHOTS = 8;
const DEFAULT_HARD_TIMEOUT_MS = 30 * 60_000;

export function codeqlLanguageOf(lang: Language): CodeqlLanguage {
  if (lang === 'python') return 'python';
  if (lang === 'c' || lang === 'cpp') return 'cpp';
  return 'javascript';
}

export interface CodeqlOptions {
  suite: (typeof CODEQL_SUITES)[number];
  hardTimeoutMs: number;
}

/**
 * Queries chosen by code in this process (the eval judge runs each SVEN scenario's own query),
 * never by a repository file: they reach runCodeqlWithBudget as an argument, not through Config.
 */
export interface TrustedCodeqlOptions {
  suites?: Partial<Record<CodeqlLanguage, string[]>>;
}

export function codeqlOptions(config: Config): CodeqlOptions {
  return { suite: analyzerArgs(config, 'codeql').suite ?? 'security-extended', hardTimeoutMs: DEFAULT_HARD_TIMEOUT_MS };
}

/** The standard pack's suite file for a suite name of the fixed list. */
export function suiteFor(suite: CodeqlOptions['suite'], lang: CodeqlLanguage): string {
  return `codeql/${lang}-queries:codeql-suites/${lang}-${suite === 'default' ? 'code-scanning' : suite}.qls`;
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

/**
 * The C/C++ "build": compile each file alone so CodeQL's tracer sees every translation unit, with
 * the flags of the build context (every word quoted; the file as ./path, never an option).
 */
export function defaultBuildScript(files: readonly SourceFile[], flagsOf: (f: SourceFile) => string[] = () => []): string {
  const lines = ['#!/bin/sh', '# generated by reflexgen: CodeQL traces these compilations', 'cd "$(dirname "$0")/src" || exit 1'];
  for (const f of files) {
    if (f.language !== 'c' && f.language !== 'cpp') continue;
    if (/\.(h|hh|hpp|hxx)$/i.test(f.path)) continue; // headers are extracted through the files including them
    const cc = f.language === 'cpp' ? 'g++' : 'gcc';
    const words = ['-c', '-w', '-o', '/dev/null', ...flagsOf(f), asOperand(f.path)];
    // `|| true`: one file that does not compile must not lose the database for the others.
    lines.push(`${cc} ${words.map(shQuote).join(' ')} || true`);
  }
  return lines.join('\n') + '\n';
}

interface Group {
  lang: CodeqlLanguage;
  files: SourceFile[];
  /** Build flags per file, with CodeQL's own source copy as the snapshot (C/C++ only). */
  flags: Map<string, string[]>;
  key: string;
  dir: string;
  suites: string[];
  sarif: string;
}

function groupKey(lang: CodeqlLanguage, files: readonly SourceFile[], version: string, build: string): string {
  const h = createHash('sha256');
  h.update(`v2\0${version}\0${lang}\0${build}\0`);
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
    text = await readSarifText(g.sarif);
  } catch (err) {
    // Too large is an answer (the run is reported as failed), not a reason to run CodeQL again.
    if (err instanceof SarifTooLarge) throw new Error(`codeql: ${err.message}`);
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
    const args = ['database', 'create', db, `--language=${g.lang}`, '--source-root', src, '--overwrite'];
    if (g.lang === 'cpp') {
      const script = join(g.dir, 'build.sh');
      await writeFile(script, defaultBuildScript(g.files, (f) => g.flags.get(f.path) ?? []), { mode: 0o755 });
      args.push(`--command=sh ${script}`);
    } else if (versionAtLeast(version, 2, 16)) {
      // Python and JavaScript never need a build; older CLIs reject the flag.
      args.push('--build-mode=none');
    }
    await run(args);
    await writeFile(created, new Date().toISOString());
  }
  const tmp = `${g.sarif}.${process.pid}.tmp`;
  await run(['database', 'analyze', db, ...g.suites, '--format=sarif-latest', `--output=${tmp}`]);
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
export async function runCodeqlWithBudget(ctx: AnalyzeContext, budgetMs: number, trusted: TrustedCodeqlOptions = {}): Promise<CodeqlOutcome> {
  const bin = findCodeql();
  if (!bin) throw new ToolMissingError('codeql not found (put it on the PATH or set REFLEXGEN_CODEQL)');
  const version = (await codeqlProbe()).version ?? 'unknown';
  const o = codeqlOptions(ctx.config);
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
    const builds = new Map<string, FileBuild>();
    let bc: Awaited<ReturnType<typeof buildContext>> | undefined;
    if (lang === 'cpp') {
      bc = await buildContext(ctx, 'codeql');
      for (const f of files) builds.set(f.path, await bc.forFile(f));
    }
    const key = groupKey(lang, files, version, JSON.stringify([bc?.repo ?? '', [...builds]]));
    const suites = trusted.suites?.[lang]?.length ? [...trusted.suites[lang]] : [suiteFor(o.suite, lang)];
    const qhash = createHash('sha256').update(JSON.stringify(suites)).digest('hex').slice(0, 12);
    const dir = join(root, key);
    const flags = new Map<string, string[]>();
    // CodeQL compiles its own copy of the sources (src/), so staged headers are looked up there.
    if (bc) for (const f of files) flags.set(f.path, compilerFlags(bc, f, builds.get(f.path)!, join(dir, 'src')));
    const g: Group = { lang, files, flags, key, dir, suites, sarif: join(dir, `results-${qhash}.sarif`) };
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
    const r = await runCodeqlWithBudget(ctx, ctx.timeoutMs);
    return { findings: [...r.findings], notAnalyzed: [], ...(r.pending ? { pending: r.detail ?? 'deep analysis still running' } : {}) };
  },
};
