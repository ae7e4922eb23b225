import { analyzerEnabled, analyzerTimeout, type Config } from '../../shared/config.js';
import type { AnalyzerStatus, Finding } from '../../shared/findings.js';
import { allAnalyzers, probe } from '../analyzers/registry.js';
import { ToolMissingError, ToolTimeoutError, type Analyzer, type AnalyzerRun, type SourceFile } from '../analyzers/types.js';
import { cacheKey, gitBlobId, type ResultCache } from './cache.js';

export interface AnalysisOutcome {
  findings: Finding[];
  statuses: AnalyzerStatus[];
}

export interface AnalyzeOptions {
  root: string;
  /** The snapshot root once files are written (it is created lazily). */
  rootOf?: () => string;
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
  /** Puts files on disk before an analyzer runs on them (snapshots write lazily). */
  ensureWritten?: (files: SourceFile[]) => Promise<void>;
  onProgress?: (message: string, done: number, total: number) => void;
}

function applicable(a: Analyzer, files: SourceFile[]): SourceFile[] {
  return files.filter((f) => a.languages.includes(f.language));
}

function stateOf(err: unknown): AnalyzerStatus['state'] {
  return err instanceof ToolTimeoutError ? 'timeout' : err instanceof ToolMissingError ? 'missing' : 'error';
}

/**
 * Runs one analyzer over files, answering from the cache where it can, joining a run already in
 * flight for the same key (the watcher's), and analyzing the rest in one batch.
 */
async function analyzeWithCache(a: Analyzer, version: string, files: SourceFile[], opts: AnalyzeOptions): Promise<{ findings: Finding[]; cached: number; notAnalyzed: AnalyzerRun['notAnalyzed']; pending?: string }> {
  const cache = opts.cache;
  const run = async (batch: SourceFile[]) => {
    if (cache) cache.stats.analyzerRuns++;
    // Whole-snapshot analyzers see every file, not just the batch.
    await opts.ensureWritten?.(a.granularity === 'snapshot' ? opts.files : batch);
    return a.analyze({
      root: opts.rootOf ? opts.rootOf() : opts.root,
      repoRoot: opts.repoRoot,
      files: batch,
      config: opts.config,
      timeoutMs: analyzerTimeout(opts.config, a.id),
      signal: opts.signal,
    });
  };
  if (!cache || a.granularity !== 'file') {
    const r = await run(files);
    return { findings: r.findings, cached: 0, notAnalyzed: r.notAnalyzed, pending: r.pending };
  }

  const keyOf = (f: SourceFile) =>
    cacheKey({ analyzer: a.id, version, config: opts.config.analyzers[a.id] ?? null, path: f.path, blob: f.blob ?? gitBlobId(f.content) });
  const findings: Finding[] = [];
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
    } else toRun.push({ f: j.f, key: j.key }); // the other run failed: do it ourselves
  }
  let notAnalyzed: AnalyzerRun['notAnalyzed'] = [];
  let pending: string | undefined;
  if (toRun.length) {
    cache.stats.misses += toRun.length;
    const batch = run(toRun.map((t) => t.f));
    // A file the tool did not really analyze is never remembered as clean.
    const analyzed = (r: AnalyzerRun, path: string) => !r.notAnalyzed.some((n) => n.path === path);
    for (const t of toRun) {
      cache.track(t.key, batch.then((r) => (analyzed(r, t.f.path) ? r.findings.filter((x) => x.file === t.f.path) : undefined)).catch(() => undefined));
    }
    const r = await batch;
    for (const t of toRun) if (analyzed(r, t.f.path)) cache.set(t.key, r.findings.filter((x) => x.file === t.f.path));
    findings.push(...r.findings);
    notAnalyzed = r.notAnalyzed;
    pending = r.pending;
  }
  return { findings, cached, notAnalyzed, pending };
}

/**
 * Runs every enabled analyzer that applies to the files, in parallel, each under its timeout.
 * A missing or failing tool becomes a status, never an exception: the verdict decides what a
 * failure means (failMode). Used by the check pipeline, the watcher's pre-analysis, and again to
 * verify repair candidates.
 */
export async function runAnalyzers(opts: AnalyzeOptions): Promise<AnalysisOutcome> {
  const statuses: AnalyzerStatus[] = [];
  const findings: Finding[] = [];
  const jobs = allAnalyzers()
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
        const missed = out.notAnalyzed.map((n) => `${n.path}: ${n.reason}`);
        const detail = [out.pending, missed.length ? `${missed.slice(0, 5).join('; ')}${missed.length > 5 ? `; and ${missed.length - 5} more file(s) not analyzed` : ''}` : undefined]
          .filter(Boolean)
          .join('; ');
        statuses.push({
          id: a.id,
          state: out.pending ? 'pending' : missed.length ? 'error' : 'ok',
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
  return { findings, statuses };
}
