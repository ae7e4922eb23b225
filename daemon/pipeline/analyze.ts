import { analyzerEnabled, analyzerTimeout, type Config } from '../../shared/config.js';
import type { AnalyzerStatus, Finding } from '../../shared/findings.js';
import { allAnalyzers, probe } from '../analyzers/registry.js';
import { ToolMissingError, ToolTimeoutError, type Analyzer, type SourceFile } from '../analyzers/types.js';

export interface AnalysisOutcome {
  findings: Finding[];
  statuses: AnalyzerStatus[];
}

export interface AnalyzeOptions {
  root: string;
  repoRoot?: string;
  files: SourceFile[];
  config: Config;
  signal?: AbortSignal;
  onProgress?: (message: string, done: number, total: number) => void;
}

function applicable(a: Analyzer, files: SourceFile[]): SourceFile[] {
  return files.filter((f) => a.languages.includes(f.language));
}

/**
 * Runs every enabled analyzer that applies to the files, in parallel, each under its timeout.
 * A missing or failing tool becomes a status, never an exception: the verdict decides what a
 * failure means (failMode). Used by the check pipeline and again to verify repair candidates.
 */
export async function runAnalyzers(opts: AnalyzeOptions): Promise<AnalysisOutcome> {
  const statuses: AnalyzerStatus[] = [];
  const findings: Finding[] = [];
  const jobs = allAnalyzers()
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
        const out = await a.analyze({
          root: opts.root,
          repoRoot: opts.repoRoot,
          files,
          config: opts.config,
          timeoutMs: analyzerTimeout(opts.config, a.id),
          signal: opts.signal,
        });
        findings.push(...out);
        statuses.push({ id: a.id, state: 'ok', version: p.version, files: files.length, ms: Math.round(performance.now() - started) });
      } catch (err) {
        const state = err instanceof ToolTimeoutError ? 'timeout' : err instanceof ToolMissingError ? 'missing' : 'error';
        statuses.push({ id: a.id, state, version: p.version, detail: (err as Error).message, files: files.length, ms: Math.round(performance.now() - started) });
      } finally {
        opts.onProgress?.(`${a.title} done`, ++done, jobs.length);
      }
    }),
  );
  statuses.sort((x, y) => x.id.localeCompare(y.id));
  return { findings, statuses };
}
