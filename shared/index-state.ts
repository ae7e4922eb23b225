import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/*
 * Cheap facts about the index file that the hook can read without a git process and without
 * node:crypto (both cost more than the whole cached answer): which file git is committing, and a
 * stamp that changes whenever that file is rewritten. Content identity (what the verdict is
 * keyed by) is computed from the same file by shared/index-identity.ts, in the daemon.
 */

/** The index git is committing: GIT_INDEX_FILE when git set it (commit -a, commit <paths>), else <gitDir>/index. */
export function indexFileFor(gitDir: string, cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const f = env.GIT_INDEX_FILE;
  if (f) return isAbsolute(f) ? f : resolve(cwd, f);
  return join(gitDir, 'index');
}

/** Enough trailing bytes to hold git's own checksum of the file, for SHA-1 and SHA-256 repositories. */
const TAIL = 32;

/**
 * size, mtime, inode and the file's last 32 bytes (git's checksum of everything before it):
 * equal stamps mean the file was not rewritten in between. Undefined when it cannot be read.
 */
export function indexStamp(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO must not stall the hook
    // Milliseconds with a fraction are fine here: the checksum at the end changes with any rewrite
    // that changes content, and a BigInt stat costs the hook more than it adds.
    const st = fstatSync(fd);
    if (!st.isFile() || st.size < 12 + TAIL) return undefined;
    const tail = Buffer.alloc(TAIL);
    readSync(fd, tail, 0, TAIL, st.size - TAIL);
    return `${st.size}:${st.mtimeMs}:${st.ino}:${tail.toString('hex')}`;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The checksum part of a stamp (what a reader of the whole file also sees at its end). */
export function stampChecksum(stamp: string): string {
  return stamp.slice(stamp.lastIndexOf(':') + 1);
}
