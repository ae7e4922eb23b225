import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import Ajv04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { toSarif } from '../../shared/sarif.js';
import { findingsFromSarif } from '../../daemon/analyzers/sarif-import.js';
import type { AnalyzerStatus, Finding } from '../../shared/findings.js';

const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'shared', 'schemas', 'sarif-schema-2.1.0.json'), 'utf8')) as Record<string, unknown>;
// CommonJS packages: Node gives module.exports, bundlers may give its `default`; both carry `default`.
const Ajv = ((Ajv04 as unknown as { default?: unknown }).default ?? Ajv04) as typeof Ajv04.default;
const formats = ((addFormats as unknown as { default?: unknown }).default ?? addFormats) as typeof addFormats.default;
const ajv = new Ajv({ allErrors: true, strict: false });
formats(ajv);
const validate = ajv.compile(schema);

const findings: Finding[] = [
  { tool: 'bandit', ruleId: 'B608', cwe: ['CWE-89'], severity: 'warning', file: 'app/db.py', startLine: 14, endLine: 14, message: 'Possible SQL injection vector through string-based query construction.' },
  { tool: 'codeql', ruleId: 'py/path-injection', cwe: ['CWE-22', 'CWE-23'], severity: 'error', file: 'app/files with space.py', startLine: 3, endLine: 5, message: 'This path depends on a user-provided value.', alsoReportedBy: ['builtin'] },
  { tool: 'bandit', ruleId: 'B608', cwe: ['CWE-89'], severity: 'error', file: 'app/db.py', startLine: 30, endLine: 30, message: 'again' },
  { tool: 'gcc', ruleId: '-Wformat-security', cwe: [], severity: 'note', file: 'x.c', startLine: 1, endLine: 1, message: '' },
];
const analyzers: AnalyzerStatus[] = [
  { id: 'bandit', state: 'ok', version: '1.6.2', files: 2, ms: 300 },
  { id: 'codeql', state: 'skipped', detail: 'deep analysis still running' },
  { id: 'cppcheck', state: 'missing', detail: 'cppcheck not installed' },
];

describe('toSarif', () => {
  const log = toSarif({ findings, analyzers }, { toolVersion: '0.1.0', repoRoot: '/home/dev/my repo' });

  it('validates against the official SARIF 2.1.0 schema', () => {
    const ok = validate(log);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(validate(toSarif({ findings: [], analyzers: [] }, { toolVersion: '0.1.0' }))).toBe(true);
  });

  it('the schema check is real: a broken log fails it', () => {
    const bad = structuredClone(log) as unknown as { runs: { results: { level: string }[] }[] };
    bad.runs[0].results[0].level = 'fatal';
    expect(validate(bad)).toBe(false);
  });

  it('has one rule per tool rule with CWE tags, helpUri and the highest level; results point at them', () => {
    const run = log.runs[0];
    const rules = run.tool.driver.rules as { id: string; helpUri?: string; properties: { tags: string[] }; defaultConfiguration: { level: string } }[];
    expect(rules.map((r) => r.id)).toEqual(['bandit/B608', 'codeql/py/path-injection', 'gcc/-Wformat-security']);
    expect(rules[0]).toMatchObject({ helpUri: 'https://cwe.mitre.org/data/definitions/89.html', defaultConfiguration: { level: 'error' } });
    expect(rules[0].properties.tags).toEqual(['security', 'external/cwe/cwe-089']);
    expect(rules[1].properties.tags).toEqual(['security', 'external/cwe/cwe-022', 'external/cwe/cwe-023']);
    expect(rules[2].helpUri).toBeUndefined();
    const results = run.results as { ruleIndex: number; ruleId: string; level: string; partialFingerprints: Record<string, string> }[];
    expect(results.map((r) => [r.ruleId, r.ruleIndex, r.level])).toEqual([
      ['bandit/B608', 0, 'warning'],
      ['codeql/py/path-injection', 1, 'error'],
      ['bandit/B608', 0, 'error'],
      ['gcc/-Wformat-security', 2, 'note'],
    ]);
    expect(new Set(results.map((r) => r.partialFingerprints['reflexgen/v1'])).size).toBe(4);
  });

  it('gives every rule what code scanning shows and ranks by: fullDescription, help, security-severity', () => {
    const rules = log.runs[0].tool.driver.rules as Array<{ fullDescription: { text: string }; help: { text: string; markdown: string }; properties: Record<string, unknown> }>;
    for (const r of rules) {
      expect(r.fullDescription.text.length).toBeGreaterThan(0);
      expect(r.help.text.length).toBeGreaterThan(0);
    }
    expect(rules[0].help.markdown).toContain('[https://cwe.mitre.org/data/definitions/89.html](https://cwe.mitre.org/data/definitions/89.html)');
    expect(rules.map((r) => r.properties['security-severity'])).toEqual(['8.0', '8.0', '2.0']);
  });

  it('uses %SRCROOT%-relative, percent-encoded URIs that our own importer reads back', () => {
    expect(log.runs[0].originalUriBaseIds).toEqual({ '%SRCROOT%': { uri: 'file:///home/dev/my%20repo/' } });
    const back = findingsFromSarif(log, { tool: 'reflexgen', root: '/home/dev/my repo' });
    expect(back.map((f) => [f.file, f.startLine, f.endLine, f.cwe, f.severity])).toEqual([
      ['app/db.py', 14, 14, ['CWE-89'], 'warning'],
      ['app/files with space.py', 3, 5, ['CWE-22', 'CWE-23'], 'error'],
      ['app/db.py', 30, 30, ['CWE-89'], 'error'],
      ['x.c', 1, 1, [], 'note'],
    ]);
  });

  it('reports analyzers that did not run as tool execution notifications', () => {
    const inv = log.runs[0].invocations[0] as { executionSuccessful: boolean; toolExecutionNotifications: { level: string; message: { text: string } }[] };
    expect(inv.executionSuccessful).toBe(true);
    expect(inv.toolExecutionNotifications.map((n) => [n.level, n.message.text])).toEqual([
      ['note', 'codeql: skipped (deep analysis still running)'],
      ['warning', 'cppcheck: missing (cppcheck not installed)'],
    ]);
    expect(log.runs[0].tool.extensions).toEqual([{ name: 'bandit', version: '1.6.2' }, { name: 'codeql' }, { name: 'cppcheck' }]);
  });
});
