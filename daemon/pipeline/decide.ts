import type { AnalyzerStatus, Finding, Severity, Verdict } from '../../shared/findings.js';
import type { RepairOutcome } from '../../shared/protocol.js';
import { atLeast } from './scope.js';

/*
 * The one place a verdict is made. Pure: everything it needs is in its arguments, so every
 * combination of policy and outcome is a unit test. The pipeline, the hook and `reflexgen check`
 * never decide anything themselves; they print what this returned (the hook still carries out a
 * repair it is told to apply, because only it runs with git's environment).
 */

export interface Policy {
  onFinding: 'block' | 'warn';
  failMode: 'open' | 'closed';
  minSeverity: Severity;
  repair: 'off' | 'suggest' | 'apply';
}

export interface DecideInput {
  /** Findings in new code, after scope, suppressions, baseline and disabled rules. */
  findings: readonly Finding[];
  analyzers: readonly AnalyzerStatus[];
  /** Source files of the change that some analyzer (or every analyzer: no `tool`) did not analyze. */
  notAnalyzed: ReadonlyArray<{ tool?: string; path: string; reason: string }>;
  repairs?: readonly RepairOutcome[];
  policy: Policy;
}

export interface Decision {
  verdict: Verdict;
  /** Lines that explain the verdict, in the order they should be read. */
  notices: string[];
  /** Findings at or above minSeverity. */
  blocking: Finding[];
  /** Ids of verified repairs the client must apply to the index for this verdict to hold. */
  applyRepairs: string[];
}

const FAILED: ReadonlyArray<AnalyzerStatus['state']> = ['missing', 'timeout', 'error'];

function failureLine(s: AnalyzerStatus): string {
  const what = s.state === 'missing' ? 'is not available' : s.state === 'timeout' ? 'timed out' : 'failed';
  return `${s.id} ${what}${s.detail ? `: ${s.detail}` : ''}`;
}

function verifiedRepair(r: RepairOutcome): boolean {
  return r.status === 'repaired' && r.content !== undefined && r.patch !== undefined;
}

export function decide(input: DecideInput): Decision {
  const { policy } = input;
  const notices: string[] = [];
  const blocking = input.findings.filter((f) => atLeast(f.severity, policy.minSeverity));

  // What could not be looked at. Pending background runs are reported but do not count: their
  // results reach the next check of the same content (CodeQL's deep analysis is opt-in, and its
  // budget is the policy for how long a commit waits for it).
  const failed = input.analyzers.filter((s) => FAILED.includes(s.state));
  const failedIds = new Set(failed.map((s) => s.id));
  for (const s of failed) notices.push(failureLine(s));
  const missedFiles = input.notAnalyzed.filter((n) => !n.tool || !failedIds.has(n.tool));
  for (const n of missedFiles) notices.push(`${n.path}: ${n.tool ? `${n.tool}: ` : ''}${n.reason}`);
  for (const s of input.analyzers.filter((x) => x.state === 'pending')) notices.push(`${s.id}: ${s.detail ?? 'deep analysis still running'}`);
  const incomplete = failed.length > 0 || missedFiles.length > 0;

  // A verified repair for every file with blocking findings, under `repair: apply`, replaces the
  // staged content: what is committed then has no blocking finding.
  const verified = (input.repairs ?? []).filter(verifiedRepair);
  const blockingFiles = new Set(blocking.map((f) => f.file));
  const repairedFiles = new Set(verified.map((r) => r.file));
  const allRepaired = blocking.length > 0 && [...blockingFiles].every((f) => repairedFiles.has(f));
  const applying = allRepaired && policy.repair === 'apply' && policy.onFinding === 'block';
  const remaining = applying ? [] : blocking;

  let verdict: Verdict = 'pass';
  if (remaining.length > 0) {
    verdict = policy.onFinding === 'block' ? 'block' : 'warn';
    if (policy.onFinding === 'warn') notices.push(`onFinding is "warn": ${remaining.length} finding(s) are reported but do not block the commit`);
  } else if (incomplete) {
    verdict = policy.failMode === 'closed' ? 'block' : 'warn';
    notices.push(
      policy.failMode === 'closed'
        ? 'failMode is "closed": the commit is blocked because not every file could be analyzed'
        : 'failMode is "open": the commit is allowed although not every file could be analyzed',
    );
  }
  if (applying && verdict !== 'block') {
    notices.push('every blocking finding has a verified repair and repair is "apply": the commit proceeds with the fixed code');
  }
  const applyRepairs = applying && verdict !== 'block' ? verified.filter((r) => blockingFiles.has(r.file)).map((r) => r.id) : [];
  return { verdict, notices, blocking, applyRepairs };
}
