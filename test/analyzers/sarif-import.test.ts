import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cwesFromTags, findingsFromSarif } from '../../daemon/analyzers/sarif-import.js';
import { FindingSchema } from '../../shared/findings.js';

const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures');
const load = (name: string): unknown => JSON.parse(readFileSync(join(fixtures, name), 'utf8'));

describe('cwesFromTags', () => {
  it('reads external/cwe tags, strips zero padding, ignores other tags and duplicates', () => {
    expect(cwesFromTags(['security', 'external/cwe/cwe-089', 'external/cwe/cwe-022', 'external/cwe/cwe-89', 'external/owasp/a1'])).toEqual([
      'CWE-89',
      'CWE-22',
    ]);
    expect(cwesFromTags(undefined)).toEqual([]);
  });
});

describe('findingsFromSarif on CodeQL output (rules in a query-pack extension)', () => {
  const findings = findingsFromSarif(load('codeql-python.sarif'), { tool: 'codeql', root: '/tmp/snap' });

  it('produces valid findings and skips results suppressed in the source', () => {
    for (const f of findings) expect(FindingSchema.safeParse(f).success).toBe(true);
    expect(findings.map((f) => f.ruleId)).toEqual(['py/sql-injection', 'py/path-injection', 'py/flask-debug', 'py/weak-sensitive-data-hashing']);
  });

  it('takes the CWE from the extension rule that rule.toolComponent + rule.index point at', () => {
    const sql = findings.find((f) => f.ruleId === 'py/sql-injection')!;
    expect(sql.cwe).toEqual(['CWE-89']);
    const path = findings.find((f) => f.ruleId === 'py/path-injection')!;
    expect(path.cwe).toEqual(['CWE-22', 'CWE-23', 'CWE-36', 'CWE-73', 'CWE-99']);
  });

  it('maps security-severity bands and problem.severity', () => {
    const sev = Object.fromEntries(findings.map((f) => [f.ruleId, f.severity]));
    expect(sev['py/sql-injection']).toBe('error'); // 8.8
    expect(sev['py/flask-debug']).toBe('warning'); // 5.0 although the rule's level is error
    expect(sev['py/weak-sensitive-data-hashing']).toBe('warning'); // no score: problem.severity
  });

  it('decodes %SRCROOT%-relative URIs, resolves artifact indexes, keeps regions', () => {
    const sql = findings.find((f) => f.ruleId === 'py/sql-injection')!;
    expect(sql).toMatchObject({ file: 'lib/db utils.py', startLine: 14, endLine: 14 });
    const path = findings.find((f) => f.ruleId === 'py/path-injection')!;
    expect(path).toMatchObject({ file: 'app.py', startLine: 22, endLine: 23 });
    const hash = findings.find((f) => f.ruleId === 'py/weak-sensitive-data-hashing')!;
    expect(hash.file).toBe('app.py'); // artifactLocation had only an index
  });

  it('turns CodeQL link markup into plain text', () => {
    expect(findings[0].message).toBe('This SQL query depends on a user-provided value.');
    expect(findings[3].message).toMatch(/^Sensitive data \(password\) is used/);
  });
});

describe('findingsFromSarif on CodeQL output (rules in the driver, older CLI)', () => {
  const findings = findingsFromSarif(load('codeql-cpp-driver.sarif'), { tool: 'codeql', root: '/tmp/snap' });

  it('looks rules up by rule.index, ruleIndex and by id, and drops files outside the root', () => {
    expect(findings.map((f) => [f.ruleId, f.file, f.startLine, f.cwe])).toEqual([
      ['cpp/use-after-free', 'src/buf.c', 13, ['CWE-416']],
      ['cpp/potential-buffer-overflow', 'src/buf.c', 20, ['CWE-120', 'CWE-787', 'CWE-805']],
      ['cpp/missing-null-test', 'src/buf.c', 7, ['CWE-476']],
    ]);
  });

  it('lets an explicit result level win when there is no security-severity', () => {
    expect(findings.map((f) => f.severity)).toEqual(['error', 'error', 'note']);
  });

  it('keeps absolute paths when no root is given', () => {
    const all = findingsFromSarif(load('codeql-cpp-driver.sarif'), { tool: 'codeql' });
    expect(all).toHaveLength(4);
    expect(all[3].file).toBe('/usr/include/x86_64-linux-gnu/bits/string_fortified.h');
  });
});

describe('findingsFromSarif edge cases', () => {
  it('does not trust a ruleIndex that points at a different rule id', () => {
    const sarif = {
      version: '2.1.0',
      runs: [
        {
          tool: {
            driver: {
              name: 't',
              rules: [
                { id: 'a', properties: { tags: ['external/cwe/cwe-078'] } },
                { id: 'b', properties: { tags: ['external/cwe/cwe-079'] } },
              ],
            },
          },
          results: [{ ruleId: 'b', ruleIndex: 0, message: { text: 'x' }, locations: [{ physicalLocation: { artifactLocation: { uri: 'x.js' }, region: { startLine: 3 } } }] }],
        },
      ],
    };
    expect(findingsFromSarif(sarif, { tool: 't' })[0].cwe).toEqual(['CWE-79']);
  });

  it('resolves file:// URIs against the root, substitutes message arguments, adds hand-mapped CWEs', () => {
    const sarif = {
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: 'clang', rules: [{ id: 'unix.Malloc', messageStrings: { uaf: { text: 'Use of {0} after it is freed' } } }] } },
          results: [
            {
              ruleId: 'unix.Malloc',
              message: { id: 'uaf', arguments: ['memory'] },
              locations: [{ physicalLocation: { artifactLocation: { uri: 'file:///tmp/snap/src/a%20b.c' }, region: { startLine: 5 } } }],
            },
            { ruleId: 'unix.Malloc', message: { text: 'no location' } },
          ],
        },
      ],
    };
    const f = findingsFromSarif(sarif, { tool: 'clang', root: '/tmp/snap', cweForRule: (id, msg) => (msg.includes('freed') ? ['CWE-416'] : []) });
    expect(f).toEqual([
      { tool: 'clang', ruleId: 'unix.Malloc', cwe: ['CWE-416'], severity: 'warning', file: 'src/a b.c', startLine: 5, endLine: 5, message: 'Use of memory after it is freed' },
    ]);
  });

  it('rejects a document that is not SARIF', () => {
    expect(() => findingsFromSarif('nope', { tool: 'x' })).toThrow(/not a JSON object/);
    expect(findingsFromSarif({ runs: [] }, { tool: 'x' })).toEqual([]);
  });
});

describe('SARIF files a tool wrote', () => {
  it('are read whole up to a cap, and a larger one is refused with its size, not parsed', async () => {
    const { mkdtempSync, writeFileSync: write, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { readSarifText, SarifTooLarge } = await import('../../daemon/analyzers/sarif-file.js');
    const dir = mkdtempSync(join(tmpdir(), 'rx-sarif-'));
    try {
      write(join(dir, 'small.sarif'), '{"runs":[]}');
      write(join(dir, 'big.sarif'), Buffer.alloc(3 * 2 ** 20, 32));
      expect(await readSarifText(join(dir, 'small.sarif'), 2 ** 20)).toBe('{"runs":[]}');
      await expect(readSarifText(join(dir, 'big.sarif'), 2 ** 20)).rejects.toThrow(SarifTooLarge);
      await expect(readSarifText(join(dir, 'big.sarif'), 2 ** 20)).rejects.toThrow(/3 MiB\) is over the 1 MiB limit/);
      await expect(readSarifText(join(dir, 'missing.sarif'))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
