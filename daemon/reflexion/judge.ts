import type { Finding, Severity } from '../../shared/findings.js';
import type { Verification } from './types.js';

/** Lines move when code is rewritten, so findings are matched by what they are, never by where. */
export function targetKey(f: Finding): string {
  return `${f.ruleId}|${[...f.cwe].sort().join(',')}`;
}

/** Messages often carry line numbers or columns; those must not make an old finding look new. */
export function findingKey(f: Finding): string {
  const msg = f.message.toLowerCase().replace(/\d+/g, '#').replace(/\s+/g, ' ').trim();
  return `${targetKey(f)}|${msg}`;
}

function countBy(fs: Finding[], key: (f: Finding) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of fs) m.set(key(f), (m.get(key(f)) ?? 0) + 1);
  return m;
}

const RANK: Record<Severity, number> = { note: 0, warning: 1, error: 2 };

export interface Judgement {
  accepted: boolean;
  parses: boolean;
  /** Targeted findings still reported (one representative per surplus occurrence). */
  remaining: Finding[];
  /** Findings the candidate introduced. */
  introduced: Finding[];
}

/**
 * Accepted only when the file parses, every targeted finding is gone and nothing new appeared, all
 * counted per kind against the file before the change: a file with two SQL injections where one is
 * targeted must end with at most one.
 */
export function judge(before: Finding[], targets: Finding[], after: Verification, newMinSeverity: Severity = 'note'): Judgement {
  const beforeT = countBy(before, targetKey);
  const targetsT = countBy(targets, targetKey);
  const afterT = countBy(after.findings, targetKey);
  const remaining: Finding[] = [];
  for (const [k, nTargets] of targetsT) {
    const allowed = Math.max(beforeT.get(k) ?? 0, nTargets) - nTargets;
    const surplus = (afterT.get(k) ?? 0) - allowed;
    if (surplus > 0) remaining.push(...after.findings.filter((f) => targetKey(f) === k).slice(0, surplus));
  }
  const beforeF = countBy(before, findingKey);
  for (const [k, n] of countBy(targets, findingKey)) beforeF.set(k, Math.max(beforeF.get(k) ?? 0, n));
  const seen = new Map<string, number>();
  const introduced: Finding[] = [];
  for (const f of after.findings) {
    const k = findingKey(f);
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    if (n <= (beforeF.get(k) ?? 0)) continue;
    // A remaining target is already reported as remaining; do not count it twice.
    if (targetsT.has(targetKey(f))) continue;
    if (RANK[f.severity] < RANK[newMinSeverity]) continue;
    introduced.push(f);
  }
  return { accepted: after.parses && remaining.length === 0 && introduced.length === 0, parses: after.parses, remaining, introduced };
}
