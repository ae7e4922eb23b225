import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBlobs } from '../../shared/git.js';
import { stagedChanges } from '../../shared/staged.js';

/*
 * The two git readers that see staged content in the daemon parse git's output as it streams;
 * these run them against a real repository with objects of every awkward size.
 */

const repo = mkdtempSync(join(tmpdir(), 'rx-gitstream-'));
afterAll(() => rmSync(repo, { recursive: true, force: true }));

function git(args: string[], input?: string | Buffer): string {
  const r = spawnSync('git', args, { cwd: repo, input, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout.toString('utf8').trim();
}

git(['init', '-q', '-b', 'main']);
git(['config', 'user.email', 't@example.com']);
git(['config', 'user.name', 'T']);

/** Writes the contents as blobs with one git process; their ids in order. */
function blobs(contents: Buffer[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'rx-gitstream-blobs-'));
  try {
    const files = contents.map((c, i) => {
      writeFileSync(join(dir, String(i)), c);
      return join(dir, String(i));
    });
    return git(['hash-object', '-w', '--stdin-paths'], files.join('\n') + '\n').split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('readBlobs', () => {
  it('returns each blob byte for byte, leaves out missing ids and blobs over the cap', async () => {
    // Sizes around the pipe's chunk size, so object boundaries fall inside and across chunks.
    const contents = [Buffer.alloc(0), Buffer.from('\n'), Buffer.from('a\nb\n'), Buffer.alloc(65_536, 0x41), Buffer.alloc(200_001, 0x0a)];
    for (let i = 0; i < 1000; i++) contents.push(Buffer.from(`line ${i}\n`.repeat(i % 7)));
    const big = Buffer.alloc(3 * 1024 * 1024, 0x42);
    const [bigId, ...ids] = blobs([big, ...contents]);
    const missing = 'f'.repeat(40);
    const got = await readBlobs(repo, [...ids, missing, bigId, ids[2]], { maxBlobBytes: 1024 * 1024 });
    for (let i = 0; i < ids.length; i++) expect(got.get(ids[i])?.equals(contents[i]), `blob ${i}`).toBe(true);
    expect(got.has(missing)).toBe(false);
    expect(got.has(bigId)).toBe(false);
    // Without a cap the big one is read too.
    expect((await readBlobs(repo, [bigId])).get(bigId)?.equals(big)).toBe(true);
  });
});

describe('stagedChanges', () => {
  it('reads statuses and added ranges of many files, one of them far larger than a pipe chunk', async () => {
    writeFileSync(join(repo, 'keep.py'), 'a = 1\nb = 2\nc = 3\n');
    git(['add', 'keep.py']);
    git(['commit', '-q', '--no-verify', '-m', 'base']);
    writeFileSync(join(repo, 'keep.py'), 'a = 1\nb = 20\nc = 3\nd = 4\n');
    // 4 MB of added lines, some of which look like patch headers.
    writeFileSync(join(repo, 'huge.py'), '+++ b/x\ndiff --git a/y b/y\n@@ -1 +1 @@\n'.repeat(100_000));
    for (let i = 0; i < 200; i++) writeFileSync(join(repo, `f${i}.c`), `int f${i};\n`);
    git(['add', '-A']);
    const changes = await stagedChanges(repo);
    expect(changes).toHaveLength(202);
    const byPath = new Map(changes.map((c) => [c.path, c]));
    expect(byPath.get('keep.py')).toMatchObject({ status: 'M', addedLines: [[2, 2], [4, 4]], binary: false });
    expect(byPath.get('huge.py')).toMatchObject({ status: 'A', addedLines: 'all', binary: false });
    expect(byPath.get('f199.c')).toMatchObject({ status: 'A', addedLines: 'all' });
    expect(byPath.get('keep.py')?.blob).toBe(git(['rev-parse', ':keep.py']));
  });
});
