import { describe, expect, it } from 'vitest';
import { renderReport, summaryLine } from '../../hook/render.js';
import type { CheckResult } from '../../shared/protocol.js';
import type { Finding } from '../../shared/findings.js';

const finding = (file: string, line: number, cwe: string, severity: Finding['severity'] = 'error'): Finding => ({
  tool: 'builtin',
  ruleId: 'py/sql-injection',
  cwe: [cwe],
  severity,
  file,
  startLine: line,
  endLine: line,
  message: 'request data reaches SQL',
});

const result = (over: Partial<CheckResult>): CheckResult => ({
  verdict: 'pass',
  findings: [],
  preExisting: 0,
  suppressed: 0,
  analyzers: [{ id: 'builtin', state: 'ok', files: 1 }],
  notices: [],
  timings: { totalMs: 12 },
  ...over,
});

describe('the report', () => {
  it('opens with counts per severity and CWE, shows a few findings per file and says how many are hidden', () => {
    const findings = [...Array.from({ length: 8 }, (_, i) => finding('a.py', i + 1, 'CWE-89')), finding('b.py', 3, 'CWE-78', 'warning')];
    expect(summaryLine(findings)).toBe('9 findings (8 error, 1 warning): CWE-89 x8, CWE-78 x1');
    const text = renderReport(result({ verdict: 'block', findings }));
    expect(text.match(/a\.py:\d+/g)).toHaveLength(5);
    expect(text).toContain('... 3 more in a.py');
    expect(text).toContain('b.py:3');
    expect(text).toContain('3 finding(s) not shown');
    expect(renderReport(result({ verdict: 'block', findings }), { verbose: true }).match(/a\.py:\d+/g)).toHaveLength(8);
  });

  it('a pass with findings below the blocking severity does not claim "no security findings"', () => {
    const text = renderReport(result({ findings: [finding('a.py', 1, 'CWE-330', 'note')] }));
    expect(text).not.toContain('no security findings');
    expect(text).toContain('no blocking findings in the staged change');
  });

  it('says when nothing in the change had an analyzer instead of "no analyzer ran in 0 ms"', () => {
    expect(renderReport(result({ analyzers: [], timings: { totalMs: 0 } }))).toContain('no file in the staged change has an analyzer');
    expect(renderReport(result({ analyzers: [], timings: { totalMs: 0 } }), { scope: { what: 'in the checked files', commit: false } })).toContain('no file in the checked files has an analyzer');
  });

  it('shows a knowledge entry once even when it was retrieved for several files, and names what an unrepaired file still has', () => {
    const hit = { id: 'starter:sql', title: 'Parameterize SQL', cwe: ['CWE-89'], lesson: 'bind values', score: 1 };
    const text = renderReport(
      result({
        verdict: 'block',
        findings: [finding('a.py', 4, 'CWE-89'), finding('b.py', 7, 'CWE-89')],
        guidance: [
          { file: 'a.py', cwe: ['CWE-89'], hits: [hit] },
          { file: 'b.py', cwe: ['CWE-89'], hits: [hit] },
        ],
        repairs: [{ id: 'r1', file: 'a.py', status: 'unrepaired', targets: [finding('a.py', 4, 'CWE-89')], iterations: 3, tokens: 10, ms: 5, knowledgeUsed: [], learned: false }],
      }),
    );
    expect(text.match(/Parameterize SQL/g)).toHaveLength(1);
    expect(text).toContain('no verified repair for a.py (no candidate passed verification; still there: a.py:4 CWE-89)');
  });
});
