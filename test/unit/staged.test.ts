import { describe, expect, it } from 'vitest';
import { PatchReader, parsePatch, parseRaw } from '../../shared/staged.js';
import { isExcluded } from '../../daemon/pipeline/snapshot.js';
import { onChangedLines } from '../../daemon/pipeline/scope.js';
import { parseConfig } from '../../shared/config.js';
import type { Finding } from '../../shared/findings.js';

describe('parsePatch', () => {
  it('reads new-side ranges from -U0 hunks, ignoring pure deletions', () => {
    const patch = [
      'diff --git a/x.py b/x.py',
      'index 1..2 100644',
      '--- a/x.py',
      '+++ b/x.py',
      '@@ -3 +3 @@ def f():',
      '-    old',
      '+    new',
      '@@ -10,2 +9,0 @@',
      '-gone1',
      '-gone2',
      '@@ -20,0 +19,3 @@',
      '+a',
      '+b',
      '+c',
      '',
    ].join('\n');
    expect(parsePatch(Buffer.from(patch))).toEqual([{ binary: false, added: [[3, 3], [19, 21]] }]);
  });

  it('is not fooled by added lines that look like headers', () => {
    const patch = [
      'diff --git a/x b/x',
      '--- a/x',
      '+++ b/x',
      '@@ -1,0 +1,3 @@',
      '+++ not a header',
      '+diff --git a/y b/y',
      '+@@ -1 +1 @@',
      'diff --git a/z b/z',
      'Binary files a/z and b/z differ',
      '',
    ].join('\n');
    expect(parsePatch(Buffer.from(patch))).toEqual([
      { binary: false, added: [[1, 3]] },
      { binary: true, added: [] },
    ]);
  });

  it('skips "no newline at end of file" markers', () => {
    const patch = ['diff --git a/x b/x', '@@ -1 +1,2 @@', '-a', '\\ No newline at end of file', '+a', '+b', '\\ No newline at end of file', '@@ -5 +6 @@', '-x', '+y', ''].join('\n');
    expect(parsePatch(Buffer.from(patch))[0].added).toEqual([[1, 2], [6, 6]]);
  });
});

describe('PatchReader', () => {
  const patch = [
    'diff --git a/x b/x',
    '--- a/x',
    '+++ b/x',
    '@@ -1 +1,2 @@',
    '-a',
    '\\ No newline at end of file',
    '+' + 'diff --git a/q b/q '.repeat(5000),
    '+@@ -1 +1 @@',
    '\\ No newline at end of file',
    'diff --git a/z b/z',
    'Binary files a/z and b/z differ',
    'diff --git a/w b/w',
    '@@ -0,0 +1,3 @@',
    '+1',
    '+2',
    '+3',
  ].join('\n');

  it('reads the same sections whatever the chunks, holding no content line', () => {
    const whole = parsePatch(Buffer.from(patch));
    expect(whole).toEqual([
      { binary: false, added: [[1, 2]] },
      { binary: true, added: [] },
      { binary: false, added: [[1, 3]] },
    ]);
    for (const size of [1, 2, 3, 7, 64, 4096]) {
      const r = new PatchReader();
      const buf = Buffer.from(patch);
      for (let i = 0; i < buf.length; i += size) r.push(buf.subarray(i, i + size));
      expect(r.end(), `chunks of ${size}`).toEqual(whole);
    }
  });

  it('cuts an over-long header line instead of holding it', () => {
    const r = new PatchReader();
    r.push(Buffer.from(`diff --git a/${'p'.repeat(100_000)} b/p\n@@ -0,0 +5,2 @@\n+a\n+b\n`));
    expect(r.end()).toEqual([{ binary: false, added: [[5, 6]] }]);
  });
});

describe('parseRaw', () => {
  it('reads statuses, renames and names with spaces from -z output', () => {
    const z = [':100644 100644 aaaa bbbb M', 'a b.py', ':100644 100644 cccc dddd R087', 'old.py', 'new name.py', ':000000 100644 0000 eeee A', 'n.c', ''].join('\0');
    expect(parseRaw(Buffer.from(z))).toEqual([
      { srcMode: '100644', dstMode: '100644', dstBlob: 'bbbb', status: 'M', path: 'a b.py' },
      { srcMode: '100644', dstMode: '100644', dstBlob: 'dddd', status: 'R', path: 'new name.py', oldPath: 'old.py' },
      { srcMode: '000000', dstMode: '100644', dstBlob: 'eeee', status: 'A', path: 'n.c' },
    ]);
  });
});

describe('scope and config helpers', () => {
  const f = (startLine: number, endLine = startLine): Finding => ({ tool: 't', ruleId: 'r', cwe: [], severity: 'warning', file: 'x', startLine, endLine, message: '' });
  it('a finding counts when it overlaps an added range', () => {
    expect(onChangedLines(f(5), [[3, 5]])).toBe(true);
    expect(onChangedLines(f(6), [[3, 5]])).toBe(false);
    expect(onChangedLines(f(1, 10), [[4, 4]])).toBe(true);
    expect(onChangedLines(f(7), 'all')).toBe(true);
    expect(onChangedLines(f(7), [])).toBe(false);
  });
  it('exclude patterns match prefixes and globs', () => {
    expect(isExcluded('vendor/lib/a.c', ['vendor'])).toBe(true);
    expect(isExcluded('vendorx/a.c', ['vendor'])).toBe(false);
    expect(isExcluded('src/gen/a_pb2.py', ['**/*_pb2.py'])).toBe(true);
    expect(isExcluded('tests/a.py', ['tests/*.py'])).toBe(true);
    expect(isExcluded('tests/sub/a.py', ['tests/*.py'])).toBe(false);
  });
  it('config errors name the key', () => {
    expect(() => parseConfig({ scope: 'everything' })).toThrow(/scope/);
    expect(() => parseConfig({ analyzers: { banditt: true } })).toThrow(/analyzers/);
    expect(parseConfig({}).failMode).toBe('open');
  });
});
