import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, stopDaemon, TestRepo, SQLI_PY, SAFE_PY, UAF_C, SAFE_C } from '../helpers/repo.js';

/*
 * The gate end to end: real repos, the hook installed by `reflexgen init`, real `git commit`, the
 * real daemon and the real analyzers (bandit, gcc, cppcheck from Debian).
 */

let home: string;
beforeAll(() => {
  home = makeHome();
});
afterAll(() => stopDaemon(home));

describe('blocking and allowing', () => {
  it('blocks a staged SQL injection in Python with file:line, CWE, rule and tool, and allows the fix', () => {
    const repo = new TestRepo(home);
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const blocked = repo.commit('add unsubscribe'); // initial commit: there is no HEAD yet
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr).toContain('app.py:9');
    expect(blocked.stderr).toContain('CWE-89');
    // The built-in taint rule reports it; bandit's B608 is left to it while it runs.
    expect(blocked.stderr).toMatch(/app\.py:9\s+error\s+CWE-89\s+\S+ \(builtin\)\n/);
    expect(blocked.stderr.match(/app\.py:9/g)).toHaveLength(1);
    expect(blocked.stderr).toContain('commit blocked');
    expect(repo.commitCount()).toBe(0);

    repo.write('app.py', SAFE_PY);
    repo.add('app.py');
    const ok = repo.commit('add unsubscribe');
    expect(ok.code, ok.stderr).toBe(0);
    expect(repo.commitCount()).toBe(1);
  });

  it('blocks a use-after-free in C and allows it once fixed', () => {
    const repo = new TestRepo(home);
    repo.write('src/main.c', UAF_C);
    repo.add('src/main.c');
    const blocked = repo.commit('uaf');
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr).toMatch(/src\/main\.c:10\b.*CWE-416/);
    repo.write('src/main.c', SAFE_C);
    repo.add('src/main.c');
    const ok = repo.commit('fixed');
    expect(ok.code, ok.stderr).toBe(0);
    expect(repo.committed('src/main.c')).toBe(SAFE_C);
  });
});

describe('only the staged change counts', () => {
  it('a vulnerable line present only in the working tree, not staged, does not block', () => {
    const repo = new TestRepo(home);
    repo.write('app.py', SAFE_PY);
    repo.add('app.py');
    repo.commitNoVerify();
    repo.write('app.py', SAFE_PY + '\n\ndef version():\n    return "1.0"\n');
    repo.add('app.py');
    // Now make the working tree vulnerable without staging it.
    repo.write('app.py', SQLI_PY + '\n\ndef version():\n    return "1.0"\n');
    const r = repo.commit('add version');
    expect(r.code, r.stderr).toBe(0);
    expect(repo.committed('app.py')).not.toContain("'%s'\" % email");
    // The unstaged edit is still there, untouched.
    expect(repo.read('app.py')).toContain("'%s'\" % email");
  });

  it('a vulnerable line staged and then removed from the working tree still blocks', () => {
    const repo = new TestRepo(home);
    repo.write('app.py', SAFE_PY);
    repo.add('app.py');
    repo.commitNoVerify();
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    repo.write('app.py', SAFE_PY);
    const r = repo.commit('sneaky');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('CWE-89');
  });

  it('a pre-existing vulnerable line the commit does not touch does not block under changed-lines, but does under changed-files', () => {
    const repo = new TestRepo(home);
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    repo.commitNoVerify('legacy code');
    repo.write('app.py', SQLI_PY + '\n\ndef health():\n    return "ok"\n');
    repo.add('app.py');
    const r = repo.commit('add health');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('pre-existing');

    repo.write('.reflexgenrc.json', JSON.stringify({ scope: 'changed-files' }));
    repo.write('app.py', SQLI_PY + '\n\ndef health():\n    return "still ok"\n');
    repo.add('app.py');
    const strict = repo.commit('touch health');
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toContain('CWE-89');
  });

  it('onFinding "warn" reports the finding and lets the commit through', () => {
    const repo = new TestRepo(home);
    repo.write('.reflexgenrc.json', JSON.stringify({ onFinding: 'warn' }));
    repo.write('app.py', SQLI_PY);
    repo.add('app.py', '.reflexgenrc.json');
    const r = repo.commit('warn only');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('CWE-89');
    expect(r.stderr).toContain('allowed with warnings');
  });
});

describe('git edge cases', () => {
  it('handles binary files, deletions, renames, non-UTF-8 content and names with spaces in one commit', () => {
    const repo = new TestRepo(home);
    repo.write('old name.py', SAFE_PY);
    repo.write('gone.py', SAFE_PY);
    repo.add('old name.py', 'gone.py');
    repo.commitNoVerify();

    repo.git(['mv', 'old name.py', 'new name.py']);
    repo.git(['rm', '-q', 'gone.py']);
    repo.write('image.bin', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1, 2, 3, 0, 255]));
    // Latin-1 comment (not valid UTF-8) in an otherwise vulnerable file with a space in its name.
    const latin1 = Buffer.concat([Buffer.from('# -*- coding: latin-1 -*-\n# caf'), Buffer.from([0xe9]), Buffer.from('\n' + SQLI_PY)]);
    repo.write('dir with space/bad file.py', latin1);
    repo.add('image.bin', 'dir with space/bad file.py');
    const r = repo.commit('mixed');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('dir with space/bad file.py:11');
    expect(r.stderr).toContain('CWE-89');
    expect(r.stderr).not.toContain('internal error');

    repo.git(['rm', '-q', '--cached', 'dir with space/bad file.py']);
    const ok = repo.commit('mixed without the bad file');
    expect(ok.code, ok.stderr).toBe(0);
    expect(repo.git(['show', '--stat', 'HEAD']).stdout).toContain('new name.py');
  });

  it('a rename without content change does not re-flag old findings; an edit inside a renamed file is checked', () => {
    const repo = new TestRepo(home);
    repo.write('a.py', SQLI_PY);
    repo.add('a.py');
    repo.commitNoVerify();
    repo.git(['mv', 'a.py', 'b.py']);
    const moved = repo.commit('rename');
    expect(moved.code, moved.stderr).toBe(0);
    repo.write('b.py', SQLI_PY.replace('subscriptions', 'subscribers'));
    repo.add('b.py');
    const edited = repo.commit('edit the query');
    expect(edited.code).not.toBe(0);
    expect(edited.stderr).toContain('b.py:9');
  });

  it('`git commit -a` and `git commit <path>` are checked against the index git builds for them', () => {
    const repo = new TestRepo(home);
    repo.write('app.py', SAFE_PY);
    repo.write('other.py', SAFE_PY);
    repo.add('app.py', 'other.py');
    repo.commitNoVerify();
    repo.write('app.py', SQLI_PY); // modified, not staged
    const all = repo.git(['commit', '-q', '-a', '-m', 'all']);
    expect(all.code).not.toBe(0);
    expect(all.stderr).toContain('app.py:9');

    // Only other.py is committed: the vulnerable app.py is not part of this commit.
    repo.write('other.py', SAFE_PY + '\n# tweak\n');
    const only = repo.git(['commit', '-q', '-m', 'only other', '--', 'other.py']);
    expect(only.code, only.stderr).toBe(0);
    expect(repo.read('app.py')).toBe(SQLI_PY);
  });

  it('REFLEXGEN_SKIP=1 skips the check with a one-line notice', () => {
    const repo = new TestRepo(home);
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const r = repo.commit('skip', { REFLEXGEN_SKIP: '1' });
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('skipped');
  });

  it('a commit with nothing analyzable passes without needing the daemon', () => {
    const repo = new TestRepo(home);
    repo.write('README.md', '# hello\n');
    repo.add('README.md');
    const r = repo.commit('docs', { REFLEXGEN_HOME: '/proc/nonexistent/never' });
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('guidance', () => {
  it('is only about the weaknesses found and in the finding\'s language', () => {
    const repo = new TestRepo(home);
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const r = repo.cli(['check', '--staged', '--format', 'json']);
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout) as { guidance?: Array<{ cwe: string[]; hits: Array<{ id: string; cwe: string[] }> }> };
    const hits = (out.guidance ?? []).flatMap((g) => g.hits.map((h) => ({ ...h, wanted: g.cwe })));
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits) expect(h.cwe.some((c) => h.wanted.includes(c)), `${h.id} ${h.cwe.join(',')}`).toBe(true);
  });
});
