import { beforeAll, describe, expect, it } from 'vitest';
import { initBuiltinRules, runBuiltinRules } from '../../daemon/rules/engine.js';

beforeAll(async () => {
  await initBuiltinRules();
});

const body = `{
    char *p = malloc(n);
    free(p);
    return p[0];
}
`;

const lines = (src: string) => runBuiltinRules('lib/x.c', 'c', src).map((f) => `${f.ruleId}@${f.startLine}`);

describe('C functions without a return type', () => {
  it('are analyzed like typed ones (C89 implicit int), with the same line numbers', () => {
    const typed = lines(`int\nfirst_byte(int n)\n${body}`);
    expect(typed).toContain('c/use-after-free@6');
    // The same function as old C writes it, and as a diff or excerpt shows it (type on a line not shown).
    expect(lines(`\nfirst_byte(int n)\n${body}`)).toEqual(typed);
    expect(lines(`/* reader */\nfirst_byte(n)\n${body}`)).toEqual(typed);
  });

  it('leaves a real call statement followed by a block alone', () => {
    const src = `void f(int n)\n{\n    g(n);\n    {\n        char *p = malloc(n);\n        free(p);\n        p[0] = 1;\n    }\n}\n`;
    expect(lines(src)).toEqual(['c/use-after-free@7']);
  });
});
