import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { FindingSchema, type Language } from '../../shared/findings.js';
import { builtinAnalyzer, initBuiltinRules, runBuiltinRules } from '../../daemon/analyzers/builtin.js';
import { ruleList } from '../../daemon/rules/catalog.js';
import type { AnalyzeContext } from '../../daemon/analyzers/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(here, 'fixtures');
const MARK = /(?:#|\/\/)\s*expect:\s*([\w/-]+)/;

const LANG: Record<string, Language> = { py: 'python', c: 'c', js: 'javascript', ts: 'typescript' };

/** `py-sql-injection.pos.py` -> rule `py/sql-injection`; `ts-xss` fixtures use JS rules. */
function fixtureRule(file: string): string {
  const slug = file.split('.')[0];
  const [lang, ...rest] = slug.split('-');
  return `${lang === 'ts' ? 'js' : lang}/${rest.join('-')}`;
}

function expectations(content: string): Array<{ rule: string; line: number }> {
  return content.split('\n').flatMap((text, i) => {
    const m = MARK.exec(text);
    return m ? [{ rule: m[1], line: i + 1 }] : [];
  });
}

const files = readdirSync(FIXTURES).sort();
const ext = (f: string): string => f.slice(f.lastIndexOf('.') + 1);

beforeAll(async () => {
  await initBuiltinRules();
});

describe('built-in rule fixtures', () => {
  it('has a positive and a negative fixture for every rule', () => {
    const rulesWithFixtures = new Set(files.map(fixtureRule));
    for (const r of ruleList()) {
      expect(files.some((f) => fixtureRule(f) === r.id && f.includes('.pos.')), `${r.id} positive`).toBe(true);
      expect(files.some((f) => fixtureRule(f) === r.id && f.includes('.neg.')), `${r.id} negative`).toBe(true);
      expect(rulesWithFixtures.has(r.id)).toBe(true);
    }
  });

  for (const file of files.filter((f) => f.includes('.pos.'))) {
    it(`flags exactly the marked lines of ${file}`, () => {
      const content = readFileSync(join(FIXTURES, file), 'utf8');
      const expected = expectations(content);
      expect(expected.length).toBeGreaterThan(0);
      const findings = runBuiltinRules(`fixtures/${file}`, LANG[ext(file)], content);
      const marked = new Set(expected.map((e) => e.rule));
      const got = findings.filter((f) => marked.has(f.ruleId)).map((f) => `${f.ruleId}@${f.startLine}`);
      expect(got.sort()).toEqual(expected.map((e) => `${e.rule}@${e.line}`).sort());
    });
  }

  for (const file of files.filter((f) => f.includes('.neg.'))) {
    it(`does not flag ${file}`, () => {
      const content = readFileSync(join(FIXTURES, file), 'utf8');
      const pos = files.find((f) => f.startsWith(file.split('.')[0] + '.pos.'));
      const rules = new Set([fixtureRule(file), ...(pos ? expectations(readFileSync(join(FIXTURES, pos), 'utf8')).map((e) => e.rule) : [])]);
      const findings = runBuiltinRules(`fixtures/${file}`, LANG[ext(file)], content);
      expect(findings.filter((f) => rules.has(f.ruleId)).map((f) => `${f.ruleId}@${f.startLine}`)).toEqual([]);
    });
  }

  it('produces schema-valid findings with CWE, severity and an actionable message', () => {
    const content = readFileSync(join(FIXTURES, 'py-sql-injection.pos.py'), 'utf8');
    const findings = runBuiltinRules('app/db.py', 'python', content);
    expect(findings.length).toBeGreaterThan(0);
    for (const f of findings) {
      expect(FindingSchema.parse(f)).toEqual(f);
      expect(f.tool).toBe('builtin');
      expect(f.file).toBe('app/db.py');
      expect(f.cwe).toContain('CWE-89');
      expect(f.message).toMatch(/parameterized/);
    }
  });
});

describe('builtin analyzer adapter', () => {
  it('probes available with the web-tree-sitter version', async () => {
    const p = await builtinAnalyzer.probe();
    expect(p.available).toBe(true);
    expect(p.version).toMatch(/^0\.25\./);
  });

  it('analyzes the snapshot files it supports and reports repo-relative paths', async () => {
    const content = readFileSync(join(FIXTURES, 'c-use-after-free.pos.c'), 'utf8');
    const ctx = {
      root: '/nonexistent',
      files: [
        { path: 'src/uaf.c', absPath: '/nonexistent/src/uaf.c', language: 'c', content },
        { path: 'src/empty.py', absPath: '/nonexistent/src/empty.py', language: 'python', content: 'x = 1\n' },
      ],
      config: {},
      timeoutMs: 10_000,
    } as unknown as AnalyzeContext;
    const { findings } = await builtinAnalyzer.analyze(ctx);
    expect(findings.filter((f) => f.ruleId === 'c/use-after-free').map((f) => [f.file, f.startLine])).toEqual([
      ['src/uaf.c', 9],
      ['src/uaf.c', 15],
    ]);
    expect(findings.every((f) => f.file === 'src/uaf.c')).toBe(true);
  });
});
