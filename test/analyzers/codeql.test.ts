import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  codeqlAnalyzer,
  defaultBuildScript,
  findCodeql,
  runCodeqlWithBudget,
} from '../../daemon/analyzers/codeql.js';
import type { AnalyzeContext, SourceFile } from '../../daemon/analyzers/types.js';
import { parseConfig } from '../../shared/config.js';

const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures');

/*
 * A stand-in `codeql` executable: records its argv, creates the database dir, sleeps when asked,
 * and "analyzes" by copying a hand-written CodeQL SARIF file. It exercises the adapter's command
 * lines, cache and budget logic exactly as the real CLI would be driven.
 */
const work = mkdtempSync(join(tmpdir(), 'rg-codeql-test-'));
const fake = join(work, 'codeql');
const log = join(work, 'calls.log');
writeFileSync(
  fake,
  `#!/bin/sh
echo "$*" >> "${log}"
case "$1 $2" in
  "version --format=terse") echo "2.19.3"; exit 0;;
  "database create") mkdir -p "$3"; sleep "\${FAKE_CREATE_SLEEP:-0}"; [ -n "$FAKE_CREATE_FAIL" ] && { echo "A fatal error occurred: boom" >&2; exit 2; }; exit 0;;
  "database analyze")
    for a in "$@"; do case "$a" in --output=*) cp "$FAKE_SARIF" "\${a#--output=}";; esac; done; exit 0;;
esac
echo "unexpected: $*" >&2; exit 9
`,
);
chmodSync(fake, 0o755);

const saved = { ...process.env };
afterAll(() => {
  process.env = saved;
  rmSync(work, { recursive: true, force: true });
});

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(work, 'home-'));
  process.env.REFLEXGEN_HOME = home;
  process.env.REFLEXGEN_CODEQL = fake;
  process.env.FAKE_SARIF = join(fixtures, 'codeql-python.sarif');
  delete process.env.FAKE_CREATE_SLEEP;
  delete process.env.FAKE_CREATE_FAIL;
  writeFileSync(log, '');
});

function ctxFor(files: { path: string; content: string; language?: SourceFile['language'] }[], settings: object = {}, timeoutMs = 20_000): AnalyzeContext {
  const root = mkdtempSync(join(work, 'snap-'));
  return {
    root,
    files: files.map((f) => ({ path: f.path, absPath: join(root, f.path), language: f.language ?? 'python', content: f.content })),
    config: parseConfig({ analyzers: { codeql: { enabled: true, ...settings } } }),
    timeoutMs,
  };
}

const calls = () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);

describe('codeql adapter (stand-in CLI)', () => {
  it('finds the binary through REFLEXGEN_CODEQL and probes its version', async () => {
    expect(findCodeql()).toBe(fake);
    expect(findCodeql({ REFLEXGEN_CODEQL: join(work, 'nope'), PATH: '' })).toBeUndefined();
    expect(findCodeql({ PATH: work })).toBe(fake);
    expect(codeqlAnalyzer.defaultEnabled).toBe(true);
    const p = await codeqlAnalyzer.probe();
    expect(p).toMatchObject({ available: true, version: '2.19.3' });
  });

  it('creates a database with build-mode none, analyzes to SARIF and maps the findings', async () => {
    const ctx = ctxFor([
      { path: 'app.py', content: 'print(1)\n' },
      { path: 'lib/db utils.py', content: 'x = 1\n' },
    ]);
    const { findings, pending } = await codeqlAnalyzer.analyze(ctx);
    expect(pending).toBeUndefined();
    expect(findings.map((f) => [f.file, f.ruleId, f.cwe[0]])).toContainEqual(['lib/db utils.py', 'py/sql-injection', 'CWE-89']);
    const [create, analyze] = calls().filter((c) => c.startsWith('database'));
    expect(create).toMatch(/^database create \S+\/db --language=python --source-root \S+\/src --overwrite --build-mode=none$/);
    expect(analyze).toMatch(/^database analyze \S+\/db codeql\/python-queries:codeql-suites\/python-security-extended\.qls --format=sarif-latest --output=\S+$/);
    // CodeQL works on its own copy of the snapshot, so the check may delete its dir meanwhile.
    const src = create.split(' ')[5];
    expect(readFileSync(join(src, 'lib/db utils.py'), 'utf8')).toBe('x = 1\n');
    expect(src.startsWith(join(home, 'codeql'))).toBe(true);
  });

  it('answers the same snapshot from the cache without running CodeQL again; new content misses', async () => {
    const files = [{ path: 'app.py', content: 'a = 1\n' }];
    await codeqlAnalyzer.analyze(ctxFor(files));
    const n = calls().length;
    const again = await runCodeqlWithBudget(ctxFor(files), 5_000);
    expect(again.pending).toBe(false);
    expect(again.cachedLanguages).toEqual(['python']);
    expect(again.findings.length).toBeGreaterThan(0);
    expect(calls().length).toBe(n);
    await codeqlAnalyzer.analyze(ctxFor([{ path: 'app.py', content: 'a = 2\n' }]));
    expect(calls().filter((c) => c.startsWith('database create'))).toHaveLength(2);
  });

  it('returns within the budget with a pending marker, finishes in the background and fills the cache', async () => {
    process.env.FAKE_CREATE_SLEEP = '1.5';
    const files = [{ path: 'app.py', content: 'slow = 1\n' }];
    const t0 = Date.now();
    const first = await codeqlAnalyzer.analyze(ctxFor(files, {}, 200));
    expect(Date.now() - t0).toBeLessThan(1200);
    expect(first.findings).toEqual([]);
    expect(first.pending).toMatch(/deep analysis still running/);
    // A second check while the first is running joins it instead of starting another CodeQL.
    const joined = await runCodeqlWithBudget(ctxFor(files, {}, 100), 100);
    expect(joined.pending).toBe(true);
    const late = await joined.done;
    expect(late.some((f) => f.ruleId === 'py/sql-injection')).toBe(true);
    expect(calls().filter((c) => c.startsWith('database create'))).toHaveLength(1);
    const t1 = Date.now();
    const next = await codeqlAnalyzer.analyze(ctxFor(files, {}, 200));
    expect(Date.now() - t1).toBeLessThan(1000);
    expect(next.pending).toBeUndefined();
    expect(next.findings.length).toBe(late.length);
  });

  it('reports a CodeQL failure inside the budget as an error with its message', async () => {
    process.env.FAKE_CREATE_FAIL = '1';
    await expect(codeqlAnalyzer.analyze(ctxFor([{ path: 'app.py', content: 'fail = 1\n' }]))).rejects.toThrow(/database create failed \(exit 2\): A fatal error occurred: boom/);
  });

  it('builds C/C++ with a generated gcc -c script and the build context, and honours the suite from the fixed list', async () => {
    process.env.FAKE_SARIF = join(fixtures, 'codeql-cpp-driver.sarif');
    const c = [
      { path: 'src/buf.c', content: '#include "util.h"\nint main(void){return 0;}\n', language: 'c' as const },
      { path: 'src/buf.h', content: '#pragma once\n', language: 'c' as const },
      { path: 'include/util.h', content: '#pragma once\n', language: 'c' as const },
      { path: '-MF.c', content: 'int x;\n', language: 'c' as const },
    ];
    const ctx = ctxFor(c, { suite: 'security-and-quality', defines: ['NDEBUG'] });
    for (const f of ctx.files) {
      mkdirSync(dirname(f.absPath), { recursive: true });
      writeFileSync(f.absPath, f.content);
    }
    const { findings } = await codeqlAnalyzer.analyze(ctx);
    expect(findings.map((f) => f.cwe[0])).toEqual(['CWE-416', 'CWE-120', 'CWE-476']);
    const create = calls().find((x) => x.startsWith('database create'))!;
    expect(create).toMatch(/--language=cpp --source-root \S+ --overwrite --command=sh \S+\/build\.sh$/);
    const script = readFileSync(create.split('--command=sh ')[1], 'utf8');
    const buf = script.split('\n').find((l) => l.includes('buf.c'))!;
    expect(buf).toMatch(/^gcc '-c' '-w' '-o' '\/dev\/null' '-x' 'c' '-std=gnu11' .*'-I\S+\/src\/include' .*'-DNDEBUG' '\.\/src\/buf\.c' \|\| true$/);
    // A file named like an option is compiled as ./-MF.c, never read as -MF.
    expect(script).toContain("'./-MF.c' || true");
    expect(script).not.toContain('buf.h');
    expect(calls().find((x) => x.startsWith('database analyze'))).toMatch(/ codeql\/cpp-queries:codeql-suites\/cpp-security-and-quality\.qls --format=sarif-latest --output=\S+$/);
  });

  it('takes no command, output path or flag from the repository: the old args key is a one-line error', () => {
    expect(() => ctxFor([], { args: ['build=touch /tmp/pwned', '--output=/tmp/x'] })).toThrow(/^\.reflexgenrc\.json: analyzers\.codeql\.args: free-form tool arguments are not accepted; use includeDirs, defines, std, timeoutMs, fileTimeoutMs \(codeql: suite\)$/);
    expect(() => ctxFor([], { suite: 'my/pack:evil.qls' })).toThrow(/analyzers\.codeql: suite: Invalid option/);
    expect(defaultBuildScript([{ path: "it's.cpp", absPath: '/x', language: 'cpp', content: '' }])).toContain(`'./it'\\''s.cpp'`);
  });

  it('says it is missing when there is no codeql', async () => {
    process.env.REFLEXGEN_CODEQL = join(work, 'absent');
    expect(codeqlAnalyzer.defaultEnabled).toBe(false);
    await expect(runCodeqlWithBudget(ctxFor([{ path: 'a.py', content: '' }]), 10)).rejects.toThrow(/codeql not found/);
  });
});

// The real CLI, where installed (not on this project's machines: see ANALYZERS.md).
const hasCodeql = (() => {
  try {
    execFileSync('codeql', ['version', '--format=terse'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasCodeql)('codeql adapter (real CLI)', () => {
  it('finds a SQL injection in a Flask handler', { timeout: 600_000 }, async () => {
    process.env = { ...saved, REFLEXGEN_HOME: mkdtempSync(join(work, 'real-')) };
    const src = [
      'import sqlite3',
      'from flask import Flask, request',
      'app = Flask(__name__)',
      '@app.route("/u")',
      'def u():',
      '    email = request.args.get("email")',
      '    db = sqlite3.connect("x.db")',
      '    db.cursor().execute("DELETE FROM subs WHERE email = \'" + email + "\'")',
      '    return "ok"',
      '',
    ].join('\n');
    const ctx = ctxFor([{ path: 'app.py', content: src }], {}, 590_000);
    writeFileSync(ctx.files[0].absPath, src);
    const { findings } = await codeqlAnalyzer.analyze(ctx);
    expect(findings.some((f) => f.cwe.includes('CWE-89') && f.file === 'app.py' && f.startLine === 8)).toBe(true);
    expect(existsSync(join(process.env.REFLEXGEN_HOME!, 'codeql'))).toBe(true);
  });
});
