import { loadEffectiveConfig, type LoadedConfig } from '../../shared/config.js';
import { UserError } from '../../shared/errors.js';
import type { Finding } from '../../shared/findings.js';
import { ErrorCodes, type CheckParams, type CheckResult } from '../../shared/protocol.js';
import { RpcError } from '../../shared/rpc.js';
import type { RequestContext } from '../handlers/types.js';
import { runAnalyzers } from './analyze.js';
import { reviewStagedChange } from '../review/stage.js';
import { atLeast, onChangedLines } from './scope.js';
import { materialize, snapshotTarget } from './snapshot.js';
import { postAnalysisStages } from './stages.js';
import { getBlobMemory, getCache } from '../services/cache.js';
import { applySuppressions, filterDisabledRules, mergeFindings } from '../suppressions.js';
import { filterBaseline, loadBaseline } from '../baseline.js';

/** The user's settings with the repository's policy over them; sensitive repository settings only when trusted. */
export async function readRepoConfig(repoRoot: string, stateDir: string): Promise<LoadedConfig> {
  try {
    return await loadEffectiveConfig(repoRoot, { stateDir });
  } catch (err) {
    if (err instanceof UserError) throw new RpcError(ErrorCodes.ConfigError, err.message);
    throw err;
  }
}

/**
 * One check: snapshot the staged content, analyze it, keep the findings in new code, decide.
 * Missing/failed analyzers follow failMode; findings follow onFinding and minSeverity.
 */
export async function runCheck(params: CheckParams, ctx: RequestContext): Promise<CheckResult> {
  const t0 = performance.now();
  const loaded = await readRepoConfig(params.repoRoot, ctx.daemon.stateDir);
  const config = loaded.config;
  ctx.progress('snapshot', `reading ${params.files.length} staged file(s)`);
  const snapshot = await materialize(params.repoRoot, params.files, config.exclude, getBlobMemory(ctx.daemon));
  try {
    const tSnap = performance.now();
    ctx.progress('analyzing', `analyzing ${snapshot.files.length} file(s)`, 0, snapshot.files.length);
    const outcome = await runAnalyzers({
      ...snapshotTarget(snapshot),
      repoRoot: params.repoRoot,
      config,
      signal: ctx.signal,
      cache: getCache(ctx.daemon),
      onProgress: (message, done, total) => ctx.progress('analyzing', message, done, total),
    });
    // The model's own review of the changed functions joins the analyzers' findings, so suppressions,
    // rule switches, the baseline and the scope apply to it the same way.
    const review = await reviewStagedChange(snapshot.files, params, config, ctx.signal);
    outcome.findings.push(...review.findings);
    const tAnalyzed = performance.now();

    // Noise control comes before the changed-lines filter: baseline fingerprints count occurrences
    // over the whole file.
    const disabled = new Set(Object.entries(config.rules).filter(([, on]) => !on).map(([k]) => k));
    const sup = applySuppressions(filterDisabledRules(outcome.findings, disabled), snapshot.contents);
    let candidates = sup.kept;
    if (config.baseline) {
      const baseline = await loadBaseline(params.repoRoot).catch((err: Error) => {
        throw new RpcError(ErrorCodes.ConfigError, err.message);
      });
      if (baseline) candidates = filterBaseline(candidates, baseline, snapshot.contents).kept;
    }
    const baselined = sup.kept.length - candidates.length;

    const added = new Map(params.files.map((f) => [f.path, f.addedLines]));
    let inScope: Finding[] = [];
    let preExisting = 0;
    for (const f of candidates) {
      if (config.scope === 'changed-files' || onChangedLines(f, added.get(f.file))) inScope.push(f);
      else preExisting++;
    }
    inScope = mergeFindings(inScope);
    inScope.sort((a, b) => a.file.localeCompare(b.file) || a.startLine - b.startLine || a.tool.localeCompare(b.tool));

    const notices: string[] = [...loaded.notices, ...review.notices, ...sup.notices.map((n) => `${n.file}:${n.line}: ${n.message}`)];
    if (baselined) notices.push(`${baselined} finding(s) recorded in .reflexgen/baseline.json were not counted`);
    for (const s of outcome.statuses.filter((x) => x.state === 'pending')) notices.push(`${s.id}: ${s.detail ?? 'deep analysis still running'}`);
    for (const s of snapshot.skipped) {
      if (s.reason !== 'deleted' && s.reason !== 'no analyzer for this file type') notices.push(`skipped ${s.path}: ${s.reason}`);
    }
    const failed = outcome.statuses.filter((s) => s.state === 'missing' || s.state === 'timeout' || s.state === 'error');
    for (const s of failed) {
      notices.push(`${s.id} ${s.state === 'missing' ? 'is not available' : s.state === 'timeout' ? 'timed out' : 'failed'}: ${s.detail ?? ''}`.trim());
    }

    const blocking = inScope.filter((f) => atLeast(f.severity, config.minSeverity));
    let verdict: CheckResult['verdict'] = 'pass';
    if (blocking.length > 0) verdict = config.onFinding === 'block' ? 'block' : 'warn';
    else if (failed.length > 0) {
      if (config.failMode === 'closed') {
        verdict = 'block';
        notices.push('failMode is "closed": the commit is blocked because not every analyzer could run');
      } else {
        verdict = 'warn';
        notices.push('failMode is "open": the commit is allowed although not every analyzer could run');
      }
    }

    const result: CheckResult = {
      verdict,
      findings: inScope,
      preExisting,
      suppressed: sup.suppressed.length,
      analyzers: outcome.statuses,
      notices,
      timings: {
        snapshotMs: Math.round(tSnap - t0),
        analyzeMs: Math.round(tAnalyzed - tSnap),
      },
    };
    for (const stage of postAnalysisStages()) {
      const ts = performance.now();
      await stage.run({ params, config, llmFromRepo: loaded.llmFromRepo, snapshot, findings: inScope, result, ctx });
      result.timings[`${stage.name}Ms`] = Math.round(performance.now() - ts);
    }
    result.timings.totalMs = Math.round(performance.now() - t0);
    return result;
  } finally {
    await snapshot.dispose();
  }
}
