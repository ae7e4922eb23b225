/**
 * The verify() the engine tests use: real tools, not mocks.
 * - parsing: CPython's own `ast.parse`, run through `python3`;
 * - analysis: the real bandit CLI;
 * - plus THE TEST'S OWN SQL CHECKER (below), because bandit 1.6.2 does not fire B608 on Python >= 3.8.
 *   It is a deliberately simple regex for string-formatted `execute(...)` calls, not a product analyzer.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finding } from '../../shared/findings.js';
import type { Verification } from '../../daemon/reflexion/types.js';

export const BANDIT = '/usr/bin/bandit';

// bandit 1.6.2 reports no CWE; these are the ids later bandit releases attach to the same tests.
const BANDIT_CWE: Record<string, string> = {
  B102: 'CWE-78',
  B105: 'CWE-259',
  B106: 'CWE-259',
  B107: 'CWE-259',
  B301: 'CWE-502',
  B307: 'CWE-78',
  B602: 'CWE-78',
  B605: 'CWE-78',
  B608: 'CWE-89',
};

const SEVERITY: Record<string, Finding['severity']> = { HIGH: 'error', MEDIUM: 'warning', LOW: 'note' };

/** TEST CHECKER: `.execute(` whose query is built with %, .format, + or an f-string. */
const SQL_FORMAT_RE = /\.execute(?:many)?\(\s*(?:f["']|(["'])(?:(?!\1).)*\1\s*(?:%|\.format\(|\+))/;

export function sqlFormatFindings(path: string, content: string): Finding[] {
  return content.split('\n').flatMap((line, i) =>
    SQL_FORMAT_RE.test(line)
      ? [{ tool: 'test-sql', ruleId: 'TEST-SQL-FORMAT', cwe: ['CWE-89'], severity: 'error' as const, file: path, startLine: i + 1, endLine: i + 1, message: 'SQL query built by string formatting is passed to execute()' }]
      : [],
  );
}

export function pythonParse(content: string): { parses: boolean; parseError?: string } {
  const r = spawnSync('python3', ['-c', 'import ast,sys\nast.parse(sys.stdin.read())'], { input: content, encoding: 'utf8' });
  if (r.status === 0) return { parses: true };
  const last = r.stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? 'parse error';
  const where = /File "<unknown>", line (\d+)/.exec(r.stderr);
  return { parses: false, parseError: where ? `${last} (line ${where[1]})` : last };
}

export function banditFindings(path: string, content: string): Finding[] {
  const dir = mkdtempSync(join(tmpdir(), 'rxg-bandit-'));
  try {
    const file = join(dir, 'candidate.py');
    writeFileSync(file, content);
    const r = spawnSync(BANDIT, ['-f', 'json', '-q', file], { encoding: 'utf8' });
    const out = JSON.parse(r.stdout) as { results: Array<{ test_id: string; issue_severity: string; issue_text: string; line_number: number; line_range?: number[] }> };
    return out.results.map((x) => ({
      tool: 'bandit',
      ruleId: x.test_id,
      cwe: BANDIT_CWE[x.test_id] ? [BANDIT_CWE[x.test_id]] : [],
      severity: SEVERITY[x.issue_severity] ?? 'warning',
      file: path,
      startLine: x.line_number,
      endLine: Math.max(x.line_number, ...(x.line_range ?? [])),
      message: x.issue_text,
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const verifyCalls: string[] = [];

export function pythonVerifier(path: string) {
  return async (content: string): Promise<Verification> => {
    verifyCalls.push(content);
    const p = pythonParse(content);
    // bandit cannot analyze what does not parse; the parse error is the finding then.
    const findings = p.parses ? [...banditFindings(path, content), ...sqlFormatFindings(path, content)] : [];
    return { ...p, findings };
  };
}
