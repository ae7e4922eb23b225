import { analyzerEnabled, analyzerTimeout, type Config } from '../../shared/config.js';
import type { AnalyzerStatus, Finding } from '../../shared/findings.js';
import { allAnalyzers, probe } from '../analyzers/registry.js';
import { ToolMissingError, ToolTimeoutError, type Analyzer, type AnalyzerRun, type SourceFile } from '../analyzers/types.js';
import { cacheKey, gitBlobId, type ResultCache } from './cache.js';

/** A file one analyzer was given but did not analyze. */
export interface NotAnalyzed {
  tool: string;
  path: string;
  reason: string;
}

export interface AnalysisOutcome {
  findings: Finding[];
  statuses: AnalyzerStatus[];
  notAnalyzed: NotAnalyzed[];
}

export interface AnalyzeOptions {
  /** The snapshot directory: where `ensureWritten` puts the files. */
  root: string;
  repoRoot?: string;
  files: SourceFile[];
  config: Config;
  signal?: AbortSignal;
  /** Per-file results are read from and written to it (file-granularity analyzers only). */
  cache?: ResultCache;
  /** Limit to these analyzer ids. */
  only?: string[];
  /** Leave out whole-snapshot analyzers (CodeQL): repair verification needs an answer in seconds. */
  perFileOnly?: boolean;
  /**
   * Puts the whole snapshot on disk; awaited before any analyzer that reads files starts. Absent
   * when the caller wrote the files itself.
   */
  ensureWritten?: () => Promise<void>;
  onProgress?: (message: string, done: number, total: number) => void;
  /**
   * Other files of the check that are not to be analyzed but that an analyzer may read for the
   * imports it follows (repair verification analyzes one candidate file among the staged ones).
   */
  peers?: SourceFile[];
  /** The analyzers to run (default: every registered one). */
  analyzers?: readonly Analyzer[];
}

function applicable(a: Analyzer, files: SourceFile[]): SourceFile[] {
  return files.filter((f) => a.languages.includes(f.language));
}

function stateOf(err: unknown): AnalyzerStatus['state'] {
  return err instanceof ToolTimeoutError ? 'timeout' : err instanceof ToolMissingError ? 'missing' : 'error';
}

/** A per-file result worth remembering: the tool really looked at this file and finished. */
function completedFor(run: AnalyzerRun, path: string): boolean {
  return !run.pending && !run.notAnalyzed.some((n) => n.path === path);
}

/**
 * Runs one analyzer over files, answering from the cache where it can, joining a run already in
 * flight for the same key (the watcher's), and analyzing the rest in one batch. Only results of
 * files the tool analyzed to completion are cached: an error, a timeout, a pending background run
 * or a file the tool could not read are never remembered as clean.
 */
async function analyzeWithCache(a: Analyzer, version: string, files: SourceFile[], opts: AnalyzeOptions): Promise<AnalyzerRun & { cached: number }> {
  const cache = opts.cache;
  const paths = new Set(files.map((f) => f.path));
  const peers = [...files, ...applicable(a, opts.peers ?? []).filter((p) => !paths.has(p.path))];
  const run = async (batch: SourceFile[]): Promise<AnalyzerRun> => {
    if (cache) cache.stats.analyzerRuns++;
    if (!a.inProcess) await opts.ensureWritten?.();
    return a.analyze({
      root: opts.root,
      repoRoot: opts.repoRoot,
      files: batch,
      config: opts.config,
      timeoutMs: analyzerTimeout(opts.config, a.id),
      signal: opts.signal,
      peers,
    });
  };
  if (!cache || a.granularity !== 'file') return { ...(await run(files)), cached: 0 };

  const deps = a.dependencies ? await a.dependencies(peers) : undefined;
  const keyOf = (f: SourceFile) =>
    cacheKey({ analyzer: a.id, version, config: opts.config.analyzers[a.id] ?? null, path: f.path, blob: f.blob ?? gitBlobId(f.content), deps: deps?.get(f.path) });
  const findings: Finding[] = [];
  const notAnalyzed: AnalyzerRun['notAnalyzed'] = [];
  let pending: string | undefined;
  let cached = 0;
  const toRun: Array<{ f: SourceFile; key: string }> = [];
  const joined: Array<{ f: SourceFile; key: string; p: Promise<Finding[] | undefined> }> = [];
  for (const f of files) {
    const key = keyOf(f);
    const hit = cache.get(key);
    if (hit) {
      cache.stats.hits++;
      cached++;
      findings.push(...hit);
      continue;
    }
    const p = cache.pendingFor(key);
    if (p) joined.push({ f, key, p });
    else toRun.push({ f, key });
  }
  for (const j of joined) {
    const v = await j.p;
    if (v) {
      cache.stats.hits++;
      cached++;
      findings.push(...v);
    } else toRun.push({ f: j.f, key: j.key }); // the other run failed or did not finish this file: do it ourselves
  }
  if (toRun.length) {
    cache.stats.misses += toRun.length;
    const batch = run(toRun.map((t) => t.f));
    const forFile = (r: AnalyzerRun, path: string) => (completedFor(r, path) ? r.findings.filter((x) => x.file === path) : undefined);
    for (const t of toRun) cache.track(t.key, batch.then((r) => forFile(r, t.f.path)).catch(() => undefined));
    const r = await batch;
    for (const t of toRun) {
      const mine = forFile(r, t.f.path);
      if (mine) cache.set(t.key, mine);
    }
    findings.push(...r.findings);
    notAnalyzed.push(...r.notAnalyzed);
    pending = r.pending;
  }
  return { findings, notAnalyzed, ...(pending ? { pending } : {}), cached };
}

/**
 * Runs every enabled analyzer that applies to the files, in parallel, each under its timeout.
 * A missing or failing tool becomes a status, never an exception: `decide()` says what a failure
 * means (failMode). Used by the check pipeline, the watcher's pre-analysis, `reflexgen baseline`,
 * and again to verify repair candidates.
 */
export async function runAnalyzers(opts: AnalyzeOptions): Promise<AnalysisOutcome> {
  const statuses: AnalyzerStatus[] = [];
  const findings: Finding[] = [];
  const notAnalyzed: NotAnalyzed[] = [];
  const jobs = (opts.analyzers ?? allAnalyzers())
    .filter((a) => !opts.only || opts.only.includes(a.id))
    .filter((a) => !opts.perFileOnly || a.granularity === 'file')
    .map((a) => ({ a, files: applicable(a, opts.files) }))
    .filter((j) => j.files.length > 0);
  let done = 0;
  await Promise.all(
    jobs.map(async ({ a, files }) => {
      if (!analyzerEnabled(opts.config, a.id, a.defaultEnabled)) {
        statuses.push({ id: a.id, state: 'skipped', detail: 'disabled in config', files: files.length });
        return;
      }
      const p = await probe(a);
      if (!p.available) {
        statuses.push({ id: a.id, state: 'missing', detail: p.detail, files: files.length });
        return;
      }
      const started = performance.now();
      try {
        const out = await analyzeWithCache(a, p.version ?? '', files, opts);
        findings.push(...out.findings);
        notAnalyzed.push(...out.notAnalyzed.map((n) => ({ tool: a.id, path: n.path, reason: n.reason })));
        const missed = new Set(out.notAnalyzed.map((n) => n.path)).size;
        // A run that analyzed none of its files did not run in any useful sense.
        const state: AnalyzerStatus['state'] = out.pending ? 'pending' : missed >= files.length ? 'error' : 'ok';
        const first = out.notAnalyzed[0];
        const firstLine = first ? `${first.path}: not analyzed: ${first.reason.replace(/^not analyzed:\s*/, '')}` : '';
        const detail = out.pending ?? (missed ? (missed === 1 ? firstLine : `${missed} of ${files.length} file(s) not analyzed, first ${firstLine}`) : undefined);
        statuses.push({
          id: a.id,
          state,
          version: p.version,
          ...(detail ? { detail } : {}),
          files: files.length,
          cached: out.cached,
          ms: Math.round(performance.now() - started),
        });
      } catch (err) {
        statuses.push({ id: a.id, state: stateOf(err), version: p.version, detail: (err as Error).message, files: files.length, ms: Math.round(performance.now() - started) });
      } finally {
        opts.onProgress?.(`${a.title} done`, ++done, jobs.length);
      }
    }),
  );
  statuses.sort((x, y) => x.id.localeCompare(y.id));
  return { findings, statuses, notAnalyzed };
}
