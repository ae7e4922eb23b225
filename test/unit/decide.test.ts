import { describe, expect, it } from 'vitest';
import type { AnalyzerStatus, Finding, Severity } from '../../shared/findings.js';
import type { RepairOutcome } from '../../shared/protocol.js';
import { decide, type DecideInput, type Policy } from '../../daemon/pipeline/decide.js';

/*
 * The policy matrix of decide(): failMode x onFinding x minSeverity x repaired/unrepaired x
 * analyzer outcome. Each row states the verdict a user would expect and why.
 */

const finding = (file: string, severity: Severity = 'error'): Finding => ({
  tool: 'bandit',
  ruleId: 'B303:blacklist',
  cwe: ['CWE-327'],
  severity,
  file,
  startLine: 2,
  endLine: 2,
  message: 'Use of insecure MD5 hash function.',
});

const ok = (id: string): AnalyzerStatus => ({ id, state: 'ok', files: 1 });
const status = (id: string, state: AnalyzerStatus['state'], detail?: string): AnalyzerStatus => ({ id, state, files: 1, ...(detail ? { detail } : {}) });

const repaired = (file: string, id = `r-${file}`): RepairOutcome => ({
  id,
  file,
  status: 'repaired',
  targets: [],
  patch: `--- a/${file}\n+++ b/${file}\n`,
  content: 'fixed\n',
  iterations: 1,
  tokens: 10,
  ms: 1,
  knowledgeUsed: [],
  learned: true,
});
const unrepaired = (file: string): RepairOutcome => ({ ...repaired(file), status: 'unrepaired', patch: undefined, content: undefined });

const policy = (p: Partial<Policy> = {}): Policy => ({ onFinding: 'block', failMode: 'open', minSeverity: 'warning', repair: 'suggest', ...p });

function run(p: Partial<Policy>, rest: Partial<DecideInput> = {}) {
  return decide({ findings: [], analyzers: [ok('bandit'), ok('builtin')], notAnalyzed: [], ...rest, policy: policy(p) });
}

describe('decide(): findings', () => {
  const cases: Array<[string, Partial<Policy>, Severity, string]> = [
    ['an error blocks under onFinding block', { onFinding: 'block' }, 'error', 'block'],
    ['an error only warns under onFinding warn', { onFinding: 'warn' }, 'error', 'warn'],
    ['a warning blocks at minSeverity warning', { minSeverity: 'warning' }, 'warning', 'block'],
    ['a warning passes at minSeverity error', { minSeverity: 'error' }, 'warning', 'pass'],
    ['a note passes at minSeverity warning', { minSeverity: 'warning' }, 'note', 'pass'],
    ['a note blocks at minSeverity note', { minSeverity: 'note' }, 'note', 'block'],
    ['a note below minSeverity passes even under failMode closed', { minSeverity: 'error', failMode: 'closed' }, 'note', 'pass'],
  ];
  for (const [name, p, sev, verdict] of cases) {
    it(name, () => {
      const d = run(p, { findings: [finding('a.py', sev)] });
      expect(d.verdict).toBe(verdict);
      expect(d.blocking.length > 0).toBe(verdict !== 'pass');
      expect(d.applyRepairs).toEqual([]);
    });
  }

  it('no findings and every analyzer ok passes with nothing to explain', () => {
    const d = run({ failMode: 'closed' });
    expect(d).toEqual({ verdict: 'pass', notices: [], blocking: [], applyRepairs: [] });
  });

  it('onFinding warn says why the findings do not block', () => {
    expect(run({ onFinding: 'warn' }, { findings: [finding('a.py')] }).notices.join('\n')).toMatch(/onFinding is "warn"/);
  });
});

describe('decide(): analyzers that did not run', () => {
  const outcomes: Array<[string, Partial<DecideInput>, RegExp]> = [
    ['an analyzer error', { analyzers: [ok('builtin'), status('bandit', 'error', 'bandit printed garbage')] }, /bandit failed: bandit printed garbage/],
    ['a timeout', { analyzers: [ok('builtin'), status('gcc', 'timeout', 'gcc did not finish within 100 ms')] }, /gcc timed out: gcc did not finish/],
    ['a missing tool', { analyzers: [ok('builtin'), status('cppcheck', 'missing', 'cppcheck is not installed')] }, /cppcheck is not available: cppcheck is not installed/],
    ['a file one analyzer did not analyze', { notAnalyzed: [{ tool: 'gcc', path: 'm.c', reason: 'fatal error: missing.h: No such file' }] }, /m\.c: gcc: fatal error: missing\.h/],
    ['a file no analyzer saw (too large)', { notAnalyzed: [{ path: 'big.py', reason: 'not analyzed: 3.0 MiB is above the 2.0 MiB limit (maxFileBytes)' }] }, /big\.py: not analyzed: 3\.0 MiB/],
  ];
  for (const [name, rest, line] of outcomes) {
    it(`${name}: failMode open warns, failMode closed blocks, both say why`, () => {
      const open = run({ failMode: 'open' }, rest);
      expect(open.verdict).toBe('warn');
      expect(open.notices.join('\n')).toMatch(line);
      expect(open.notices.join('\n')).toMatch(/failMode is "open": the commit is allowed/);
      const closed = run({ failMode: 'closed' }, rest);
      expect(closed.verdict).toBe('block');
      expect(closed.notices.join('\n')).toMatch(line);
      expect(closed.notices.join('\n')).toMatch(/failMode is "closed": the commit is blocked/);
    });
  }

  it('a blocking finding blocks whatever failMode says, and the failure is still reported', () => {
    const d = run({ failMode: 'open' }, { findings: [finding('a.py')], analyzers: [ok('builtin'), status('bandit', 'error', 'boom')] });
    expect(d.verdict).toBe('block');
    expect(d.notices).toContain('bandit failed: boom');
  });

  it('a finding that only warns does not hide a failure under failMode closed: the finding decides first (warn)', () => {
    const d = run({ failMode: 'closed', onFinding: 'warn' }, { findings: [finding('a.py')], analyzers: [status('bandit', 'error', 'boom')] });
    expect(d.verdict).toBe('warn');
    expect(d.notices).toContain('bandit failed: boom');
  });

  it('a pending background analysis is reported but does not count under failMode', () => {
    const d = run({ failMode: 'closed' }, { analyzers: [ok('builtin'), status('codeql', 'pending', 'deep analysis still running (CodeQL)')] });
    expect(d.verdict).toBe('pass');
    expect(d.notices).toEqual(['codeql: deep analysis still running (CodeQL)']);
  });

  it('a disabled analyzer (skipped) is not a failure', () => {
    expect(run({ failMode: 'closed' }, { analyzers: [ok('builtin'), status('bandit', 'skipped', 'disabled in config')] }).verdict).toBe('pass');
  });

  it('files of an analyzer that failed as a whole are explained once, by the analyzer line', () => {
    const d = run({ failMode: 'open' }, { analyzers: [status('bandit', 'error', '1 of 1 file(s) not analyzed')], notAnalyzed: [{ tool: 'bandit', path: 'a.py', reason: 'syntax error' }] });
    expect(d.notices.filter((n) => n.includes('bandit'))).toEqual(['bandit failed: 1 of 1 file(s) not analyzed']);
  });
});

describe('decide(): repairs', () => {
  const two = [finding('a.py'), finding('b.py')];

  it('repair apply with a verified repair for every blocking file passes and names the repairs to apply', () => {
    const d = run({ repair: 'apply' }, { findings: two, repairs: [repaired('a.py', 'ra'), repaired('b.py', 'rb')] });
    expect(d.verdict).toBe('pass');
    expect(d.applyRepairs).toEqual(['ra', 'rb']);
    expect(d.notices.join('\n')).toMatch(/proceeds with the fixed code/);
  });

  it('repair apply with one file unrepaired blocks and applies nothing', () => {
    const d = run({ repair: 'apply' }, { findings: two, repairs: [repaired('a.py'), unrepaired('b.py')] });
    expect(d.verdict).toBe('block');
    expect(d.applyRepairs).toEqual([]);
  });

  it('repair suggest with every file repaired still blocks (the patch is a suggestion)', () => {
    const d = run({ repair: 'suggest' }, { findings: two, repairs: [repaired('a.py'), repaired('b.py')] });
    expect(d.verdict).toBe('block');
    expect(d.applyRepairs).toEqual([]);
  });

  it('a repair whose outcome carries no verified content never counts', () => {
    const fake = { ...repaired('a.py'), content: undefined };
    expect(run({ repair: 'apply' }, { findings: [finding('a.py')], repairs: [fake] }).verdict).toBe('block');
  });

  it('repaired under apply but an analyzer failed: failMode closed blocks (nothing applied), open warns and applies', () => {
    const rest = { findings: [finding('a.py')], repairs: [repaired('a.py', 'ra')], analyzers: [ok('builtin'), status('gcc', 'timeout', 'slow')] };
    const closed = run({ repair: 'apply', failMode: 'closed' }, rest);
    expect(closed.verdict).toBe('block');
    expect(closed.applyRepairs).toEqual([]);
    const open = run({ repair: 'apply', failMode: 'open' }, rest);
    expect(open.verdict).toBe('warn');
    expect(open.applyRepairs).toEqual(['ra']);
  });

  it('repaired under apply with a not-analyzed file: the same failMode rule holds', () => {
    const rest = { findings: [finding('a.py')], repairs: [repaired('a.py', 'ra')], notAnalyzed: [{ tool: 'bandit', path: 'c.py', reason: 'missing' }] };
    expect(run({ repair: 'apply', failMode: 'closed' }, rest).verdict).toBe('block');
    expect(run({ repair: 'apply', failMode: 'open' }, rest).verdict).toBe('warn');
  });

  it('under onFinding warn a repair is never applied automatically', () => {
    const d = run({ repair: 'apply', onFinding: 'warn' }, { findings: [finding('a.py')], repairs: [repaired('a.py')] });
    expect(d.verdict).toBe('warn');
    expect(d.applyRepairs).toEqual([]);
  });

  it('repairs of findings below minSeverity change nothing', () => {
    const d = run({ repair: 'apply', minSeverity: 'error' }, { findings: [finding('a.py', 'warning')], repairs: [repaired('a.py')] });
    expect(d.verdict).toBe('pass');
    expect(d.applyRepairs).toEqual([]);
  });
});
