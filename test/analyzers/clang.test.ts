import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clangAnalyzer, clangArgs, clangCwe } from '../../daemon/analyzers/clang.js';
import type { AnalyzeContext, SourceFile } from '../../daemon/analyzers/types.js';
import { parseConfig } from '../../shared/config.js';
import { FindingSchema } from '../../shared/findings.js';

const SCEN = join(import.meta.dirname, '..', '..', '..', 'shared', 'benchmarks', 'sven', 'analyzer_results', 'scenario_completions');
const work = mkdtempSync(join(tmpdir(), 'rg-clang-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const hasClang = (() => {
  try {
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function ctxFor(files: { path: string; content: string; language?: SourceFile['language'] }[], timeoutMs = 30_000, raw: object = {}): AnalyzeContext {
  const root = mkdtempSync(join(work, 'snap-'));
  const sf = files.map((f) => {
    const absPath = join(root, f.path);
    mkdirSync(dirname(absPath), { recursive: true });
    writeFileSync(absPath, f.content);
    return { path: f.path, absPath, language: f.language ?? ('c' as const), content: f.content };
  });
  return { root, files: sf, config: parseConfig(raw), timeoutMs };
}

describe('clang checker -> CWE map', () => {
  it('splits unix.Malloc reports by message', () => {
    expect(clangCwe('unix.Malloc', 'Use of memory after it is freed')).toEqual(['CWE-416']);
    expect(clangCwe('unix.Malloc', 'Attempt to free released memory')).toEqual(['CWE-415']);
    expect(clangCwe('unix.Malloc', "Potential leak of memory pointed to by 'p'")).toEqual(['CWE-401']);
    expect(clangCwe('core.NullDereference', 'Dereference of null pointer')).toEqual(['CWE-476']);
    expect(clangCwe('alpha.security.ArrayBoundV2', 'Out of bound memory access')).toEqual(['CWE-787', 'CWE-125']);
    expect(clangCwe('alpha.security.taint.TaintPropagation', 'Untrusted data is used as an array index')).toEqual(['CWE-129']);
    expect(clangCwe('security.insecureAPI.strcpy', 'Call to function strcpy is insecure')).toEqual(['CWE-120']);
    expect(clangCwe('deadcode.DeadStores', 'Value stored is never read')).toEqual([]);
  });

  it('runs the study alpha checkers and picks the language', () => {
    const f: SourceFile = { path: 'a.cc', absPath: '/s/a.cc', language: 'cpp', content: '' };
    const args = clangArgs(f, '/o.sarif', ['-x', 'c++', '-std=gnu++17', '-DX']);
    expect(args.slice(0, 5)).toEqual(['--analyze', '-Xclang', '-analyzer-output=sarif', '-o', '/o.sarif']);
    expect(args).toContain('-analyzer-checker=alpha.security');
    expect(args.join(' ')).toContain('-x c++ -std=gnu++17 -DX');
    // The file follows "--": a name starting with '-' is never an option.
    expect(args.slice(-2)).toEqual(['--', '/s/a.cc']);
  });
});

describe.skipIf(!hasClang)('clang --analyze (real clang)', () => {
  it('probes a version', async () => {
    const p = await clangAnalyzer.probe();
    expect(p.available).toBe(true);
    expect(p.version).toMatch(/^\d+\.\d+/);
  });

  it('flags the use-after-free scenarios with CWE-416 on the completion and not the secure ones', async () => {
    const files = ['0-c-vul.c', '0-c-vul2.c', '0-c-sec.c', '0-c-sec2.c', '1-c-vul.c', '1-c-sec.c'].map((n) => ({
      path: `cwe-416/${n}`,
      content: readFileSync(join(SCEN, 'cwe-416', n), 'utf8'),
    }));
    const { findings, notAnalyzed } = await clangAnalyzer.analyze(ctxFor(files));
    expect(notAnalyzed).toEqual([]);
    for (const f of findings) expect(FindingSchema.safeParse(f).success).toBe(true);
    const uaf = (n: string) => findings.filter((f) => f.file === `cwe-416/${n}` && f.cwe.includes('CWE-416'));
    for (const n of ['0-c-vul.c', '0-c-vul2.c', '1-c-vul.c']) expect(uaf(n).length, n).toBeGreaterThan(0);
    for (const n of ['0-c-sec.c', '0-c-sec2.c', '1-c-sec.c']) expect(uaf(n), n).toEqual([]);
    const one = uaf('0-c-vul.c')[0];
    expect(one).toMatchObject({ tool: 'clang', ruleId: 'unix.Malloc', severity: 'warning' });
    expect(readFileSync(join(SCEN, 'cwe-416', '0-c-vul.c'), 'utf8').split('\n')[one.startLine - 1]).toMatch(/buffer/);
  });

  it('finds a null dereference in C++', async () => {
    const src = 'int f(int *p) {\n  if (p == nullptr) {\n    return *p;\n  }\n  return 0;\n}\n';
    const { findings } = await clangAnalyzer.analyze(ctxFor([{ path: 'n.cpp', content: src, language: 'cpp' }]));
    expect(findings).toEqual([expect.objectContaining({ file: 'n.cpp', startLine: 3, cwe: ['CWE-476'] })]);
  });

  it('says when a file does not compile instead of reporting it clean', async () => {
    const r = await clangAnalyzer.analyze(ctxFor([{ path: 'bad.c', content: 'ut8 *x = R_NEW0(ut8);\n' }]));
    expect(r.findings).toEqual([]);
    expect(r.notAnalyzed).toEqual([{ path: 'bad.c', reason: expect.stringMatching(/^not analyzed: bad\.c:1:1: error: unknown type name 'ut8'/) }]);
  });

  it('gives up on time: the file is not analyzed and the run says so', async () => {
    // A 1 ms bound per file: no clang run can finish inside it.
    const ctx = ctxFor([{ path: 'a.c', content: readFileSync(join(SCEN, 'cwe-416', '0-c-vul.c'), 'utf8') }], 30_000, { analyzers: { clang: { fileTimeoutMs: 1 } } });
    const r = await clangAnalyzer.analyze(ctx);
    expect(r.notAnalyzed).toEqual([{ path: 'a.c', reason: expect.stringMatching(/^time bound exceeded/) }]);
    expect(r.pending).toMatch(/1 file\(s\) past the per-file time bound/);
  });
});

describe('clang missing', () => {
  it('reports itself missing and throws ToolMissingError when the binary is absent', async () => {
    const prev = process.env.REFLEXGEN_CLANG;
    process.env.REFLEXGEN_CLANG = join(work, 'no-such-clang');
    try {
      const p = await clangAnalyzer.probe();
      expect(p.available).toBe(false);
      expect(p.detail).toMatch(/no-such-clang not found/);
      await expect(clangAnalyzer.analyze(ctxFor([{ path: 'a.c', content: 'int x;\n' }]))).rejects.toMatchObject({ name: 'ToolMissingError' });
    } finally {
      if (prev === undefined) delete process.env.REFLEXGEN_CLANG;
      else process.env.REFLEXGEN_CLANG = prev;
    }
  });
});
