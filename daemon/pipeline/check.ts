import { loadEffectiveConfig, type Config, type LoadedConfig } from '../../shared/config.js';
import { UserError } from '../../shared/errors.js';
import type { Finding } from '../../shared/findings.js';
import { ErrorCodes, type CheckParams, type CheckResult } from '../../shared/protocol.js';
import { RpcError } from '../../shared/rpc.js';
import type { RequestContext } from '../handlers/types.js';
import { guideAndRepair } from '../repair/stage.js';
import { getBlobMemory, getCache } from '../services/cache.js';
import { applySuppressions, filterDisabledRules, mergeFindings } from '../suppressions.js';
import { filterBaseline, loadBaseline } from '../baseline.js';
import { demoteNonProduct } from '../non-product.js';
import { runAnalyzers } from './analyze.js';
import { reviewClient, reviewStagedChange } from '../review/stage.js';
import { excludeRules } from '../../shared/ignore-rules.js';
import { decide } from './decide.js';
import { atLeast, onChangedLines } from './scope.js';
import { DEFAULT_MAX_FILE_BYTES, materialize, snapshotTarget, type Snapshot } from './snapshot.js';

/** The user's settings with the repository's policy over them; sensitive repository settings only when trusted. */
export async function readRepoConfig(repoRoot: string, stateDir: string): Promise<LoadedConfig> {
  try {
    return await loadEffectiveConfig(repoRoot, { stateDir });
  } catch (err) {
    if (err instanceof UserError) throw new RpcError(ErrorCodes.ConfigError, err.message);
    throw err;
  }
}

/** A refused ignore file, and the ignore file's patterns (they weaken the check like `exclude`). */
function excludeNotices(excluded: { patterns: string[]; notice?: string }, fromConfig: number): string[] {
  const fromFile = excluded.patterns.slice(fromConfig);
  return [
    ...(excluded.notice ? [excluded.notice] : []),
    ...(fromFile.length ? [`${fromFile.length} pattern(s) in .reflexgenignore exclude files from this check: ${fromFile.slice(0, 3).join(', ')}${fromFile.length > 3 ? ', ...' : ''}`] : []),
  ];
}

/** The size limit for one staged file: the repo's `maxFileBytes`, else REFLEXGEN_MAX_FILE_BYTES, else 2 MiB. */
export function maxFileBytes(config: Config, env: NodeJS.ProcessEnv = process.env): number {
  if (config.maxFileBytes) return config.maxFileBytes;
  const n = Number(env.REFLEXGEN_MAX_FILE_BYTES);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_FILE_BYTES;
}

interface Filtered {
  inScope: Finding[];
  preExisting: number;
  suppressed: number;
  notices: string[];
}

/**
 * Noise control: disabled rules, inline suppressions and the baseline come before the
 * changed-lines filter, because baseline fingerprints count occurrences over the whole file.
 */
async function filterFindings(findings: Finding[], params: CheckParams, config: Config, snapshot: Snapshot): Promise<Filtered> {
  const disabled = new Set(Object.entries(config.rules).filter(([, on]) => !on).map(([k]) => k));
  const sup = applySuppressions(filterDisabledRules(findings, disabled), snapshot.contents);
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
  inScope = demoteNonProduct(mergeFindings(inScope));
  inScope.sort((a, b) => a.file.localeCompare(b.file) || a.startLine - b.startLine || a.tool.localeCompare(b.tool));

  const notices = sup.notices.map((n) => `${n.file}:${n.line}: ${n.message}`);
  if (baselined) notices.push(`${baselined} finding(s) recorded in .reflexgen/baseline.json were not counted`);
  for (const s of snapshot.skipped) {
    if (s.reason !== 'deleted' && s.reason !== 'no analyzer for this file type') notices.push(`skipped ${s.path}: ${s.reason}`);
  }
  return { inScope, preExisting, suppressed: sup.suppressed.length, notices };
}

/**
 * One check, top to bottom: snapshot -> analyze -> filter (rules, suppressions, baseline, scope)
 * -> guidance and repair -> decide. `decide()` alone makes the verdict.
 */
export async function runCheck(params: CheckParams, ctx: RequestContext): Promise<CheckResult> {
  return (await checkChange(params, ctx)).result;
}

export interface CheckOptions {
  /**
   * false: a background check (the watcher's, after `git add`) that never starts guidance or a
   * model repair; when there was something to guide or repair, its result is not the one the hook
   * would get, and `complete` says so.
   */
  guideAndRepair?: boolean;
  /**
   * false: no model review, because no client has said which model variables to use (the daemon's
   * own environment never counts); the result is then `complete` only if no model is configured.
   */
  review?: boolean;
}

export async function checkChange(params: CheckParams, ctx: RequestContext, opts: CheckOptions = {}): Promise<{ result: CheckResult; complete: boolean }> {
  const t0 = performance.now();
  const loaded = await readRepoConfig(params.repoRoot, ctx.daemon.stateDir);
  const config = loaded.config;
  ctx.progress('snapshot', `reading ${params.files.length} staged file(s)`);
  // `exclude` and `.reflexgenignore` (read from the index first, as untrusted input) with gitignore semantics.
  const excluded = await excludeRules(params.repoRoot, config.exclude, { fromIndex: params.mode === 'staged' });
  const snapshot = await materialize(params.repoRoot, params.files, excluded.patterns, {
    memory: getBlobMemory(ctx.daemon),
    maxFileBytes: maxFileBytes(config),
  });
  try {
    const tSnap = performance.now();
    ctx.progress('analyzing', `analyzing ${snapshot.files.length} file(s)`, 0, snapshot.files.length);
    const analysis = await runAnalyzers({
      ...snapshotTarget(snapshot),
      repoRoot: params.repoRoot,
      config,
      signal: ctx.signal,
      cache: getCache(ctx.daemon),
      onProgress: (message, done, total) => ctx.progress('analyzing', message, done, total),
    });
    // The model's own review of the changed functions joins the analyzers' findings, so suppressions,
    // rule switches, the baseline and the scope apply to it the same way.
    const review = opts.review === false ? { findings: [], notices: [] } : await reviewStagedChange(snapshot.files, params, config, ctx.signal);
    analysis.findings.push(...review.findings);
    const tAnalyzed = performance.now();

    const filtered = await filterFindings(analysis.findings, params, config, snapshot);
    const blocking = filtered.inScope.filter((f) => atLeast(f.severity, config.minSeverity));
    // A skipped review leaves the result complete only when there was no model to ask anyway.
    const reviewSkipped = opts.review === false && config.modelReview !== 'off' && reviewClient(config, params) !== undefined;
    const complete = !reviewSkipped && (opts.guideAndRepair !== false || blocking.length === 0);
    const repair = complete ? await guideAndRepair({ params, config, llmFromRepo: loaded.llmFromRepo, snapshot, blocking, ctx }) : { notices: [] as string[] };
    const tRepaired = performance.now();

    const notAnalyzed = [...snapshot.notAnalyzed, ...analysis.notAnalyzed];
    const decision = decide({
      findings: filtered.inScope,
      analyzers: analysis.statuses,
      notAnalyzed,
      repairs: repair.repairs,
      policy: { onFinding: config.onFinding, failMode: config.failMode, minSeverity: config.minSeverity, repair: config.repair },
    });

    const result: CheckResult = {
      verdict: decision.verdict,
      findings: filtered.inScope,
      preExisting: filtered.preExisting,
      suppressed: filtered.suppressed,
      analyzers: analysis.statuses,
      notices: [...loaded.notices, ...excludeNotices(excluded, config.exclude.length), ...review.notices, ...filtered.notices, ...repair.notices, ...decision.notices],
      ...(notAnalyzed.length ? { notAnalyzed } : {}),
      ...(repair.guidance ? { guidance: repair.guidance } : {}),
      ...(repair.repairs ? { repairs: repair.repairs } : {}),
      ...(repair.repairPolicy ? { repairPolicy: repair.repairPolicy } : {}),
      ...(decision.applyRepairs.length ? { applyRepairs: decision.applyRepairs } : {}),
      timings: {
        snapshotMs: Math.round(tSnap - t0),
        analyzeMs: Math.round(tAnalyzed - tSnap),
        repairMs: Math.round(tRepaired - tAnalyzed),
        ...(repair.llmTokens !== undefined ? { llmTokens: repair.llmTokens } : {}),
        totalMs: Math.round(performance.now() - t0),
      },
    };
    return { result, complete };
  } finally {
    await snapshot.dispose();
  }
}
