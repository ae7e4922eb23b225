import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IGNORE_FILE_MAX_BYTES, excludeRules, isExcluded, readIgnoreFile } from '../../shared/ignore-rules.js';

/* `exclude` and `.reflexgenignore`: gitignore semantics, and the file read as untrusted input. */

describe('isExcluded (gitignore semantics)', () => {
  it('matches like git', () => {
    // The reported miss: a basename pattern applies at any depth.
    expect(isExcluded('web/static/vendor.min.js', ['*.min.js'])).toBe(true);
    expect(isExcluded('vendor/lib/a.c', ['vendor'])).toBe(true);
    expect(isExcluded('src/vendor/a.c', ['vendor'])).toBe(true);
    expect(isExcluded('src/vendor/a.c', ['/vendor'])).toBe(false);
    expect(isExcluded('vendorx/a.c', ['vendor'])).toBe(false);
    expect(isExcluded('build/x.py', ['build/'])).toBe(true);
    expect(isExcluded('tests/a.py', ['tests/*.py'])).toBe(true);
    expect(isExcluded('tests/sub/a.py', ['tests/*.py'])).toBe(false);
    expect(isExcluded('src/gen/a_pb2.py', ['**/*_pb2.py'])).toBe(true);
    expect(isExcluded('gen/keep.py', ['gen/*', '!gen/keep.py'])).toBe(false);
    expect(isExcluded('gen/drop.py', ['gen/*', '!gen/keep.py'])).toBe(true);
    expect(isExcluded('a.py', [])).toBe(false);
  });
});

function repo(): { dir: string; git: (...a: string[]) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'rxign-'));
  const git = (...a: string[]) => {
    const r = spawnSync('git', a, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  git('init', '-q');
  return { dir, git };
}

describe('readIgnoreFile', () => {
  it('reads the staged version first, else the work tree file; comments and blanks dropped', async () => {
    const { dir, git } = repo();
    expect(await readIgnoreFile(dir)).toEqual({ patterns: [] });
    writeFileSync(join(dir, '.reflexgenignore'), '# generated code\n\n*.min.js\ngen/\n');
    expect(await readIgnoreFile(dir)).toEqual({ patterns: ['*.min.js', 'gen/'], source: 'worktree' });
    git('add', '.reflexgenignore');
    writeFileSync(join(dir, '.reflexgenignore'), 'everything/\n');
    expect(await readIgnoreFile(dir)).toEqual({ patterns: ['*.min.js', 'gen/'], source: 'index' });
    expect(await readIgnoreFile(dir, { fromIndex: false })).toEqual({ patterns: ['everything/'], source: 'worktree' });
    const rules = await excludeRules(dir, ['vendor']);
    expect(rules.patterns).toEqual(['vendor', '*.min.js', 'gen/']);
    expect(isExcluded('web/app.min.js', rules.patterns)).toBe(true);
  });

  it('refuses a symlink (in the work tree or staged), a FIFO and an oversized file, each with a notice', async () => {
    const { dir, git } = repo();
    const secret = join(mkdtempSync(join(tmpdir(), 'rxsec-')), 'secret');
    writeFileSync(secret, 'gen/\n');
    symlinkSync(secret, join(dir, '.reflexgenignore'));
    const wt = await readIgnoreFile(dir);
    expect(wt.patterns).toEqual([]);
    expect(wt.notice).toContain('symlink');
    git('add', '.reflexgenignore');
    const staged = await readIgnoreFile(dir);
    expect(staged.patterns).toEqual([]);
    expect(staged.notice).toContain('symlink');

    const { dir: d2 } = repo();
    expect(spawnSync('mkfifo', [join(d2, '.reflexgenignore')]).status).toBe(0);
    const fifo = await readIgnoreFile(d2);
    expect(fifo.patterns).toEqual([]);
    expect(fifo.notice).toContain('not a regular file');

    const { dir: d3 } = repo();
    writeFileSync(join(d3, '.reflexgenignore'), 'x\n'.repeat(IGNORE_FILE_MAX_BYTES));
    const big = await readIgnoreFile(d3);
    expect(big.patterns).toEqual([]);
    expect(big.notice).toContain('larger than 64 KiB');
    spawnSync('git', ['add', '.reflexgenignore'], { cwd: d3 });
    expect((await readIgnoreFile(d3)).notice).toContain('larger than 64 KiB');
  });
});
