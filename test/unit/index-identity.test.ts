import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { indexEntriesDigest, indexIdentity, resolveHead } from '../../shared/index-identity.js';
import { indexStamp } from '../../shared/index-state.js';

/*
 * The identity the hook's cached verdict is keyed by, read from git's own files, against what git
 * itself says about the same repository.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function repo(...initArgs: string[]): { dir: string; git(...args: string[]): string } {
  const dir = mkdtempSync(join(tmpdir(), 'rx-idx-'));
  dirs.push(dir);
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' } });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  git('init', '-q', '-b', 'main', ...initArgs);
  return { dir, git };
}

const id = (dir: string) => indexIdentity(join(dir, '.git'), join(dir, '.git', 'index'));

describe('index identity', () => {
  it('stays the same when git only rewrites stat data and the cache tree, and its stamp does not', async () => {
    const r = repo();
    writeFileSync(join(r.dir, 'a.py'), 'x = 1\n');
    r.git('add', 'a.py');
    r.git('commit', '-q', '-m', 'one');
    writeFileSync(join(r.dir, 'a.py'), 'x = 2\n');
    r.git('add', 'a.py');
    const before = id(r.dir);
    const stamp = indexStamp(join(r.dir, '.git', 'index'));
    expect(before).toBeDefined();
    // What `git commit` does to the index before it runs the hook: refresh and write the cache tree.
    await new Promise((res) => setTimeout(res, 20));
    r.git('update-index', '--really-refresh');
    r.git('write-tree');
    expect(indexStamp(join(r.dir, '.git', 'index'))).not.toBe(stamp);
    expect(id(r.dir)).toEqual({ ...before, checksum: expect.any(String) });
    expect(id(r.dir)!.entries).toBe(before!.entries);
  });

  it('changes with staged content, mode, intent-to-add and HEAD', () => {
    const r = repo();
    writeFileSync(join(r.dir, 'a.sh'), 'echo 1\n');
    r.git('add', 'a.sh');
    r.git('commit', '-q', '-m', 'one');
    const seen = new Set<string>();
    const record = () => {
      const i = id(r.dir)!;
      const key = `${i.head} ${i.entries}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    };
    record();
    writeFileSync(join(r.dir, 'a.sh'), 'echo 2\n');
    r.git('add', 'a.sh');
    record();
    r.git('update-index', '--chmod=+x', 'a.sh');
    record();
    writeFileSync(join(r.dir, 'b.sh'), 'echo b\n');
    r.git('add', '-N', 'b.sh');
    record();
    const beforeCommit = id(r.dir);
    r.git('commit', '-q', '-m', 'two');
    record(); // another HEAD
    r.git('reset', '-q', '--soft', 'HEAD~1'); // the same index and HEAD as before: the same identity
    expect(id(r.dir)?.entries).toBe(beforeCommit?.entries);
    expect(id(r.dir)?.head).toBe(beforeCommit?.head);
  });

  it('reads index versions 2, 3 and 4 alike and equals across them', () => {
    const r = repo();
    for (const p of ['src/a.py', 'src/ab.py', 'src/b/c.py', 'z.py']) {
      writeFileSync(join(r.dir, p.replace(/\//g, '_')), p);
      r.git('add', p.replace(/\//g, '_'));
    }
    r.git('update-index', '--index-version', '2');
    const v2 = id(r.dir)!.entries;
    r.git('update-index', '--index-version', '4');
    expect(readFileSync(join(r.dir, '.git', 'index')).readUInt32BE(4)).toBe(4);
    expect(id(r.dir)!.entries).toBe(v2);
    r.git('update-index', '--index-version', '3');
    expect(id(r.dir)!.entries).toBe(v2);
  });

  it('reads SHA-256 repositories', () => {
    const r = repo('--object-format=sha256');
    writeFileSync(join(r.dir, 'a.py'), 'x = 1\n');
    r.git('add', 'a.py');
    r.git('commit', '-q', '-m', 'one');
    const i = id(r.dir)!;
    expect(i.head).toBe(r.git('rev-parse', 'HEAD'));
    expect(i.head).toHaveLength(64);
  });

  it('gives up on a split index and on bytes that do not parse to the end', () => {
    const r = repo();
    writeFileSync(join(r.dir, 'a.py'), 'x = 1\n');
    r.git('add', 'a.py');
    const buf = readFileSync(join(r.dir, '.git', 'index'));
    expect(indexEntriesDigest(buf)).toBeDefined();
    expect(indexEntriesDigest(buf.subarray(0, buf.length - 1))).toBeUndefined();
    expect(indexEntriesDigest(Buffer.concat([buf.subarray(0, 40), Buffer.alloc(8), buf.subarray(40)]))).toBeUndefined();
    r.git('update-index', '--split-index');
    expect(id(r.dir)).toBeUndefined();
  });

  it('resolves HEAD like git: loose and packed refs, detached, unborn, and from a linked worktree', () => {
    const r = repo();
    const gitDir = join(r.dir, '.git');
    expect(resolveHead(gitDir)).toBe('unborn:refs/heads/main');
    writeFileSync(join(r.dir, 'a.py'), 'x = 1\n');
    r.git('add', 'a.py');
    r.git('commit', '-q', '-m', 'one');
    expect(resolveHead(gitDir)).toBe(r.git('rev-parse', 'HEAD'));
    r.git('pack-refs', '--all', '--prune');
    expect(resolveHead(gitDir)).toBe(r.git('rev-parse', 'HEAD'));
    r.git('commit', '-q', '--allow-empty', '-m', 'two');
    r.git('checkout', '-q', '--detach', 'HEAD~1');
    expect(resolveHead(gitDir)).toBe(r.git('rev-parse', 'HEAD'));
    r.git('checkout', '-q', 'main');
    const wt = join(r.dir, '..', `${r.dir.split('/').pop()}-wt`);
    dirs.push(wt);
    r.git('worktree', 'add', '-q', '-b', 'side', wt, 'HEAD~1');
    const wtGitDir = r.git('-C', wt, 'rev-parse', '--absolute-git-dir');
    expect(resolveHead(wtGitDir)).toBe(r.git('rev-parse', 'main~1'));
    expect(indexIdentity(wtGitDir, join(wtGitDir, 'index'))?.head).toBe(r.git('rev-parse', 'main~1'));
  });
});
