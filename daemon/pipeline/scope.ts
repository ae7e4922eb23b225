import type { Finding } from '../../shared/findings.js';
import type { FileChange, LineRange } from '../../shared/protocol.js';

/** Whether a finding touches a line the change adds or modifies. */
export function onChangedLines(f: Finding, added: FileChange['addedLines'] | undefined): boolean {
  if (added === 'all') return true;
  if (!added) return false;
  return added.some(([s, e]: LineRange) => f.startLine <= e && f.endLine >= s);
}

const RANK = { note: 0, warning: 1, error: 2 } as const;

export function atLeast(sev: Finding['severity'], min: Finding['severity']): boolean {
  return RANK[sev] >= RANK[min];
}
