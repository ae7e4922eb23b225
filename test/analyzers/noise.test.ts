import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applySuppressions, filterDisabledRules, mergeFindings, parseSuppressions } from '../../daemon/suppressions.js';
import { BASELINE_FILE, filterBaseline, loadBaseline, writeBaseline } from '../../daemon/baseline.js';
import type { Finding } from '../../shared/findings.js';

const F = (o: Partial<Finding>): Finding => ({
  tool: 'bandit',
  ruleId: 'B608',
  cwe: ['CWE-89'],
  severity: 'warning',
  file: 'app.py',
  startLine: 1,
  endLine: 1,
  message: 'm',
  ...o,
});

describe('inline suppressions', () => {
  const py = [
    'import os', // 1
    'q = "SELECT " + x  # reflexgen-ignore CWE-89: x is an int from our own enum', // 2
    '# reflexgen-ignore py/sql-injection, B608: constant table name', // 3
    'cur.execute("SELECT * FROM " + t)', // 4
    'cur.execute(q2)  # reflexgen-ignore CWE-89', // 5
    'os.system(cmd)  # reflexgen-ignore CWE-089: wrong CWE, must not hide CWE-78', // 6
    's = "# reflexgen-ignore CWE-78: in a string"', // 7
    '', // 8
    'os.system(cmd2)', // 9 (the suppression on 7 is two lines up and not a comment anyway)
  ].join('\n');
  const c = [
    'int main(void) {', // 1
    '  /* reflexgen-ignore CWE-416: freed pointer is reassigned by the macro */', // 2
    '  use(p);', // 3
    '  /*', // 4
    '   * reflexgen-ignore unix.Malloc: checked by hand', // 5
    '   */', // 6
    '  use(q);', // 7
    '  strcpy(a, b); // reflexgen-ignore CWE-120: b is a literal', // 8
    '}', // 9
  ].join('\n');
  const contents = new Map([
    ['app.py', py],
    ['m.c', c],
  ]);

  it('parses targets and reasons, normalizes CWE spellings, flags a missing reason', () => {
    const r = parseSuppressions(py);
    expect(r.suppressions).toEqual([
      { line: 2, targets: ['CWE-89'], reason: 'x is an int from our own enum' },
      { line: 3, targets: ['py/sql-injection', 'B608'], reason: 'constant table name' },
      { line: 6, targets: ['CWE-89'], reason: 'wrong CWE, must not hide CWE-78' },
    ]);
    expect(r.problems).toEqual([{ line: 5, message: expect.stringMatching(/has no reason, so it suppresses nothing/) }]);
  });

  it('suppresses on the same line or the line above, by CWE or rule id, and never without a reason', () => {
    const findings = [
      F({ startLine: 2 }),
      F({ startLine: 4, tool: 'codeql', ruleId: 'py/sql-injection' }),
      F({ startLine: 4 }),
      F({ startLine: 5 }),
      F({ startLine: 6, ruleId: 'B605', cwe: ['CWE-78'] }),
      F({ startLine: 8, ruleId: 'B605', cwe: ['CWE-78'] }),
      F({ file: 'm.c', tool: 'clang', ruleId: 'unix.Malloc', cwe: ['CWE-416'], startLine: 3 }),
      F({ file: 'm.c', tool: 'gcc', ruleId: '-Wuse-after-free', cwe: ['CWE-416'], startLine: 7 }),
      F({ file: 'm.c', tool: 'clang', ruleId: 'unix.Malloc', cwe: ['CWE-416'], startLine: 6 }),
      F({ file: 'm.c', tool: 'clang', ruleId: 'security.insecureAPI.strcpy', cwe: ['CWE-120'], startLine: 8 }),
      F({ file: 'other.py', startLine: 1 }),
    ];
    const r = applySuppressions(findings, contents);
    expect(r.suppressed.map((s) => [s.finding.file, s.finding.startLine, s.finding.tool, s.target])).toEqual([
      ['app.py', 2, 'bandit', 'CWE-89'],
      ['app.py', 4, 'codeql', 'py/sql-injection'],
      ['app.py', 4, 'bandit', 'B608'],
      ['m.c', 3, 'clang', 'CWE-416'],
      ['m.c', 6, 'clang', 'unix.Malloc'],
      ['m.c', 8, 'clang', 'CWE-120'],
    ]);
    expect(r.kept.map((f) => `${f.file}:${f.startLine}`)).toEqual(['app.py:5', 'app.py:6', 'app.py:8', 'm.c:7', 'other.py:1']);
    expect(r.suppressed[0].reason).toBe('x is an int from our own enum');
    expect(r.notices).toEqual([{ file: 'app.py', line: 5, message: expect.stringContaining('reflexgen-ignore CWE-89: why this is safe') }]);
  });

  it('accepts a plain object for contents', () => {
    expect(applySuppressions([F({ startLine: 2 })], { 'app.py': py }).kept).toEqual([]);
  });
});

describe('per-rule off switch', () => {
  const fs = [F({}), F({ tool: 'codeql', ruleId: 'py/sql-injection' }), F({ ruleId: 'B101', cwe: ['CWE-703'] }), F({ tool: 'clang', ruleId: 'x', cwe: ['CWE-787', 'CWE-125'] })];
  it('drops by rule id, tool:rule and CWE (all CWEs of a finding must be off)', () => {
    expect(filterDisabledRules(fs, new Set(['B101'])).map((f) => f.ruleId)).toEqual(['B608', 'py/sql-injection', 'x']);
    expect(filterDisabledRules(fs, new Set(['codeql:py/sql-injection'])).map((f) => f.ruleId)).toEqual(['B608', 'B101', 'x']);
    expect(filterDisabledRules(fs, new Set(['cwe-89', 'CWE-787'])).map((f) => f.ruleId)).toEqual(['B101', 'x']);
    expect(filterDisabledRules(fs, new Set())).toHaveLength(4);
  });
});

describe('mergeFindings', () => {
  it('merges several tools on the same file, line and CWE; the most severe leads', () => {
    const merged = mergeFindings([
      F({ tool: 'bandit', severity: 'warning', startLine: 4 }),
      F({ tool: 'builtin', ruleId: 'py-sqli', severity: 'error', startLine: 4, endLine: 5 }),
      F({ tool: 'codeql', ruleId: 'py/sql-injection', cwe: ['CWE-89', 'CWE-564'], severity: 'error', startLine: 4 }),
      F({ tool: 'bandit', ruleId: 'B605', cwe: ['CWE-78'], startLine: 4 }),
      F({ tool: 'bandit', startLine: 9 }),
      F({ tool: 'gcc', ruleId: 'w', cwe: [], startLine: 4 }),
      F({ tool: 'gcc', ruleId: 'w', cwe: [], startLine: 4 }),
    ]);
    expect(merged).toHaveLength(4);
    expect(merged[0]).toMatchObject({ tool: 'builtin', ruleId: 'py-sqli', severity: 'error', cwe: ['CWE-89', 'CWE-564'], endLine: 5, alsoReportedBy: ['bandit', 'codeql'] });
    expect(merged[1]).toMatchObject({ tool: 'bandit', ruleId: 'B605' });
    expect(merged[1].alsoReportedBy).toBeUndefined();
    expect(merged[2]).toMatchObject({ startLine: 9 });
    expect(merged[3]).toMatchObject({ tool: 'gcc', ruleId: 'w' });
    expect(merged[3].alsoReportedBy).toBeUndefined();
  });

  it('joins chains through a finding with two CWEs', () => {
    const merged = mergeFindings([
      F({ tool: 'gcc', cwe: ['CWE-787'], file: 'a.c' }),
      F({ tool: 'cppcheck', cwe: ['CWE-125'], file: 'a.c' }),
      F({ tool: 'clang', cwe: ['CWE-787', 'CWE-125'], file: 'a.c' }),
    ]);
    expect(merged).toHaveLength(1);
    expect(merged[0].alsoReportedBy).toEqual(['cppcheck', 'clang']);
  });
});

describe('baseline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-baseline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const v1 = ['import os', '', 'def f(x):', '    os.system("ls " + x)', '', 'def g(y):', '    os.system("ls " + y)', 'def h(y):', '    os.system("ls " + y)', ''].join('\n');

  it('survives line shifts and re-indentation, tells apart new copies, and is tool-independent', async () => {
    const found = [
      F({ ruleId: 'B605', cwe: ['CWE-78'], startLine: 4 }),
      F({ ruleId: 'B605', cwe: ['CWE-78'], startLine: 7 }),
    ];
    const { path, baseline } = await writeBaseline(dir, found, new Map([['app.py', v1]]));
    expect(path).toBe(join(dir, BASELINE_FILE));
    expect(baseline.entries).toHaveLength(2);
    const loaded = await loadBaseline(dir);
    expect(loaded).toEqual(baseline);

    // Three lines added on top, one blank line added between f and g, trailing spaces changed.
    const v2 = ['"""doc"""', 'import sys', '', ...v1.split('\n').slice(0, 4).map((l) => l + '  '), '', ...v1.split('\n').slice(4)].join('\n');
    const lines2 = v2.split('\n');
    const at = (needle: string, from = 0) => lines2.findIndex((l, i) => i >= from && l.includes(needle)) + 1;
    const f2 = at('"ls " + x');
    const g2 = at('"ls " + y');
    const h2 = at('"ls " + y', g2);
    const later = [
      F({ tool: 'codeql', ruleId: 'py/command-line-injection', cwe: ['CWE-78', 'CWE-88'], startLine: f2 }),
      F({ ruleId: 'B605', cwe: ['CWE-78'], startLine: g2 }),
      F({ ruleId: 'B605', cwe: ['CWE-78'], startLine: h2 }),
      F({ ruleId: 'B608', cwe: ['CWE-89'], startLine: f2 }),
    ];
    const r = filterBaseline(later, loaded, new Map([['app.py', v2]]));
    expect(r.baselined.map((f) => f.startLine)).toEqual([f2, g2]);
    expect(r.kept.map((f) => [f.startLine, f.ruleId])).toEqual([
      [h2, 'B605'],
      [f2, 'B608'],
    ]);
  });

  it('a changed flagged line is no longer covered; no baseline keeps everything', async () => {
    const b = (await loadBaseline(dir))!;
    const v3 = v1.replace('os.system("ls " + x)', 'os.system("ls -la " + x)');
    const r = filterBaseline([F({ ruleId: 'B605', cwe: ['CWE-78'], startLine: 4 })], b, new Map([['app.py', v3]]));
    expect(r.kept).toHaveLength(1);
    expect(filterBaseline([F({})], undefined, {}).kept).toHaveLength(1);
  });

  it('loads nothing when absent and refuses a broken file', async () => {
    const empty = mkdtempSync(join(dir, 'e-'));
    expect(await loadBaseline(empty)).toBeUndefined();
    mkdirSync(join(empty, '.reflexgen'));
    writeFileSync(join(empty, BASELINE_FILE), '{"version":2}');
    await expect(loadBaseline(empty)).rejects.toThrow(/not a reflexgen baseline/);
    writeFileSync(join(empty, BASELINE_FILE), '{');
    await expect(loadBaseline(empty)).rejects.toThrow(/not valid JSON/);
    expect(readFileSync(join(dir, BASELINE_FILE), 'utf8')).toMatch(/"fingerprint"/);
  });
});
