import { describe, expect, it } from 'vitest';
import { dedent, inFamily } from '../../bench/analyzers.js';
import type { Finding } from '../../shared/findings.js';

const f = (cwe: string[]): Finding => ({ tool: 't', ruleId: 'r', cwe, severity: 'warning', file: 'a', startLine: 1, endLine: 1, message: '' });

describe('eval:analyzers helpers', () => {
  it('counts a finding for a target CWE through the study families', () => {
    expect(inFamily(f(['CWE-564']), '089')).toBe(true);
    expect(inFamily(f(['CWE-690']), '476')).toBe(true);
    expect(inFamily(f(['CWE-787']), '125')).toBe(true);
    expect(inFamily(f(['CWE-78']), '089')).toBe(false);
    expect(inFamily(f([]), '022')).toBe(false);
  });

  it('dedents methods so they parse alone, keeping relative indentation and blank lines', () => {
    expect(dedent('    def f(self):\n\n        return 1\n')).toBe('def f(self):\n\n    return 1\n');
    expect(dedent('x = 1\n  y')).toBe('x = 1\n  y');
  });
});
