import { describe, expect, it } from 'vitest';
import { extractCodeBlocks, extractLesson, parseJsonObject, pickCodeBlock } from '../../daemon/reflexion/extract.js';
import { judge } from '../../daemon/reflexion/judge.js';
import { fitAnswer } from '../../daemon/reflexion/region.js';
import type { Finding } from '../../shared/findings.js';

const FILE = ['import os', '', 'class A:', '    def f(self, x):', '        y = x + 1', '        return y', '', '    def g(self):', '        return 2', ''].join('\n');
const REGION = { startLine: 5, endLine: 6 };

describe('fitAnswer', () => {
  it('splices a region answer and re-indents a dedented one', () => {
    const fit = fitAnswer(FILE, REGION, 'y = int(x) + 1\nreturn y');
    expect(fit.ok && fit.mode).toBe('region');
    expect(fit.ok && fit.content).toBe(FILE.replace('        y = x + 1', '        y = int(x) + 1'));
  });

  it('accepts a whole-file answer that changes only the region', () => {
    const whole = FILE.replace('        y = x + 1', '        y = int(x) + 1\n        assert y > 0');
    const fit = fitAnswer(FILE, REGION, whole);
    expect(fit.ok && fit.mode).toBe('whole-file');
    expect(fit.ok && fit.content).toBe(whole);
    expect(fit.ok && fit.candidate).toBe('        y = int(x) + 1\n        assert y > 0\n        return y');
  });

  it('refuses a whole-file answer that changes code outside the region', () => {
    const fit = fitAnswer(FILE, REGION, FILE.replace('return 2', 'return 3'));
    expect(fit.ok).toBe(false);
    expect(!fit.ok && fit.reason).toMatch(/outside the region \(line 9; the region is lines 5-6\)/);
  });

  it('drops a repeated header line and refuses a rewritten one', () => {
    const ok = fitAnswer(FILE, REGION, '    def f(self, x):\n        y = abs(x)\n        return y');
    expect(ok.ok && ok.content).toBe(FILE.replace('y = x + 1', 'y = abs(x)'));
    const bad = fitAnswer(FILE, REGION, '    def f(self, x, strict=True):\n        y = abs(x)\n        return y');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/rewrites line 4/);
  });
});

describe('extract', () => {
  it('reads fenced blocks, ignoring unterminated ones', () => {
    expect(extractCodeBlocks('a\n```py\nx=1\n```\n```\ny\n')).toEqual([{ lang: 'py', code: 'x=1' }]);
    expect(pickCodeBlock('```bash\npip install x\n```\n```python\nimport x\nx.run()\n```', 'python')).toBe('import x\nx.run()');
  });
  it('reads JSON verdicts and lessons around prose', () => {
    expect(parseJsonObject('Sure! {"secure": false, "reason": "uses {braces}"} done')).toEqual({ secure: false, reason: 'uses {braces}' });
    expect(parseJsonObject('```json\n{"a": 1}\n```')).toEqual({ a: 1 });
    expect(extractLesson('```py\nx\n```\n**TITLE:** Param SQL\nLESSON: Bind values.')).toEqual({ title: 'Param SQL', lesson: 'Bind values.' });
  });
});

describe('judge', () => {
  const f = (ruleId: string, line: number, message = 'm'): Finding => ({ tool: 't', ruleId, cwe: ['CWE-89'], severity: 'error', file: 'a.py', startLine: line, endLine: line, message });
  it('matches by rule and CWE, not by line, and counts', () => {
    const before = [f('SQL', 3), f('SQL', 10)];
    expect(judge(before, [f('SQL', 3)], { parses: true, findings: [f('SQL', 14)] }).accepted).toBe(true);
    expect(judge(before, [f('SQL', 3)], { parses: true, findings: [f('SQL', 5), f('SQL', 14)] }).remaining).toHaveLength(1);
    const j = judge(before, [f('SQL', 3)], { parses: true, findings: [f('SQL', 14), f('OTHER', 3)] });
    expect(j.accepted).toBe(false);
    expect(j.introduced.map((x) => x.ruleId)).toEqual(['OTHER']);
    expect(judge(before, [f('SQL', 3)], { parses: false, findings: [] }).accepted).toBe(false);
  });
});
