import { describe, expect, it } from 'vitest';
import { eslintAnalyzer, eslintRuleInfo } from '../../daemon/analyzers/eslint.js';
import type { AnalyzeContext, SourceFile } from '../../daemon/analyzers/types.js';
import { parseConfig } from '../../shared/config.js';
import { FindingSchema } from '../../shared/findings.js';

function ctxFor(files: { path: string; content: string }[], timeoutMs = 30_000): AnalyzeContext {
  // In-process: ESLint reads the content, never the snapshot dir, so nothing is written.
  return {
    root: '/nonexistent-snapshot',
    files: files.map((f) => ({
      path: f.path,
      absPath: `/nonexistent-snapshot/${f.path}`,
      language: (/\.[mc]?tsx?$/.test(f.path) ? 'typescript' : 'javascript') as SourceFile['language'],
      content: f.content,
    })),
    config: parseConfig({}),
    timeoutMs,
  };
}

const JS = [
  "const cp = require('child_process');",
  'const fs = require("fs");',
  'module.exports = function handler(req, res) {',
  '  cp.exec("ls " + req.query.dir, () => {});',
  '  const data = fs.readFileSync(req.query.name);',
  '  eval(req.body.code);',
  '  const key = req.query.k;',
  '  res.send(data[key]);',
  '  cp.execFile("ls", ["--", req.query.dir]);',
  '};',
  '',
].join('\n');

const TS = [
  "import { exec } from 'node:child_process';",
  "import * as crypto from 'node:crypto';",
  'interface Req { query: Record<string, string> }',
  'export function run(req: Req): void {',
  '  const cmd: string = `git log ${req.query.ref}`;',
  '  exec(cmd);',
  '  const token = crypto.pseudoRandomBytes(16);',
  '  const password: string = req.query.p;',
  '  if (password === req.query.expected) { console.log(token as unknown as string); }',
  '}',
  '',
].join('\n');

describe('eslint rule map', () => {
  it('maps plugin rules to CWEs and keeps the noisy ones from blocking', () => {
    expect(eslintRuleInfo('security/detect-child-process', 'Found child_process.exec() with non Literal first argument')).toEqual({ cwe: ['CWE-78'], severity: 'error' });
    expect(eslintRuleInfo('security/detect-child-process', 'Found require("child_process")')?.severity).toBe('note');
    expect(eslintRuleInfo('security/detect-object-injection', 'Generic Object Injection Sink')).toEqual({ cwe: ['CWE-915'], severity: 'note' });
    expect(eslintRuleInfo('security/detect-buffer-noassert', 'Found Buffer.readUInt8 with noAssert flag set true')?.cwe).toEqual(['CWE-125']);
    // A CLI reading the file named on its own command line is ordinary code, not a gate failure.
    expect(eslintRuleInfo('security/detect-non-literal-fs-filename', 'Found readFileSync from package "fs" with non literal argument at index 0')).toEqual({ cwe: ['CWE-22'], severity: 'note' });
    expect(eslintRuleInfo('no-undef', 'x')).toBeUndefined();
  });
});

describe('eslint (in-process, eslint-plugin-security)', () => {
  it('probes eslint and the plugin, with TypeScript support', async () => {
    const p = await eslintAnalyzer.probe();
    expect(p.available).toBe(true);
    expect(p.version).toMatch(/^9\.\d+\.\d+ \+ eslint-plugin-security \d/);
    expect(p.detail).toMatch(/TypeScript via typescript-eslint/);
  });

  it('finds command injection, eval, path and object-injection sinks in JavaScript, on the right lines', async () => {
    const findings = (await eslintAnalyzer.analyze(ctxFor([{ path: 'src/handler.js', content: JS }]))).findings;
    for (const f of findings) expect(FindingSchema.safeParse(f).success).toBe(true);
    const at = (line: number) => findings.filter((f) => f.startLine === line).map((f) => `${f.ruleId}:${f.cwe.join(',')}:${f.severity}`);
    expect(at(4)).toEqual(['security/detect-child-process:CWE-78:error']);
    expect(at(5)).toEqual(['security/detect-non-literal-fs-filename:CWE-22:note']);
    expect(at(6)).toEqual(['security/detect-eval-with-expression:CWE-95:error']);
    expect(at(8)).toEqual(['security/detect-object-injection:CWE-915:note']);
    expect(at(9)).toEqual([]); // execFile with a list is not exec
    expect(new Set(findings.map((f) => f.file))).toEqual(new Set(['src/handler.js']));
  });

  it('parses TypeScript (type annotations, interfaces) and finds its sinks', async () => {
    const findings = (await eslintAnalyzer.analyze(ctxFor([{ path: 'src/run.ts', content: TS }]))).findings;
    const rules = findings.map((f) => `${f.startLine}:${f.ruleId}`);
    expect(rules).toContain('7:security/detect-pseudoRandomBytes');
    expect(rules).toContain('9:security/detect-possible-timing-attacks');
    expect(rules).toContain('6:security/detect-child-process');
    expect(findings.find((f) => f.ruleId === 'security/detect-pseudoRandomBytes')?.cwe).toEqual(['CWE-338']);
  });

  it('ignores eslint-disable comments in the code and reports files that do not parse as not analyzed', async () => {
    const src = '// eslint-disable-next-line\neval(process.argv[2]);\n';
    const { findings, notAnalyzed } = await eslintAnalyzer.analyze(
      ctxFor([
        { path: 'a.mjs', content: src },
        { path: 'broken.js', content: 'function (' },
      ]),
    );
    expect(findings.map((f) => [f.file, f.startLine, f.ruleId])).toEqual([['a.mjs', 2, 'security/detect-eval-with-expression']]);
    expect(notAnalyzed.map((n) => n.path)).toEqual(['broken.js']);
    expect(notAnalyzed[0].reason).toMatch(/could not parse: line 1/);
  });

  it('clean code has no findings', async () => {
    expect((await eslintAnalyzer.analyze(ctxFor([{ path: 'ok.js', content: 'export const add = (a, b) => a + b;\n' }]))).findings).toEqual([]);
  });

  it('stays warm: a second analysis reuses the loaded engine and is fast', async () => {
    await eslintAnalyzer.analyze(ctxFor([{ path: 'w.js', content: 'eval(x);\n' }]));
    const t0 = performance.now();
    const out = (await eslintAnalyzer.analyze(ctxFor([{ path: 'w2.js', content: 'eval(y);\n' }]))).findings;
    expect(out).toHaveLength(1);
    expect(performance.now() - t0).toBeLessThan(800);
  });
});
