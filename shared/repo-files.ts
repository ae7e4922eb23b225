import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';

/*
 * Files that a repository supplies (its config, team knowledge, baseline, ignore file) are untrusted
 * input. They are read only when they are regular files (a symlink could point at /dev/zero, a FIFO
 * or another user's secrets), only up to a cap, and asynchronously, so a hostile file can neither
 * stall the daemon's event loop (and with it every other repository's check) nor blow up its memory.
 */

/** Why a file was refused, for callers that word it their own way; `reason` is a ready one-liner. */
export type RefusedBecause = 'symlink' | 'not-a-file' | 'too-large' | 'unreadable';

export type RepoFileRead =
  | { kind: 'absent' }
  | { kind: 'ok'; text: string; bytes: number; mtimeMs: number }
  | { kind: 'refused'; because: RefusedBecause; reason: string; code?: string };

export const REPO_FILE_CAPS = {
  config: 256 * 1024,
  knowledge: 4 * 1024 * 1024,
  baseline: 8 * 1024 * 1024,
  ignore: 64 * 1024,
} as const;

function human(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(0)} MiB` : `${Math.round(n / 1024)} KiB`;
}

const symlink = (rel: string): RepoFileRead => ({ kind: 'refused', because: 'symlink', reason: `${rel} is a symbolic link; RefleXGen reads only regular files from a repository` });
const notAFile = (rel: string): RepoFileRead => ({ kind: 'refused', because: 'not-a-file', reason: `${rel} is not a regular file` });
const unreadable = (rel: string, code: string | undefined, err: unknown): RepoFileRead => ({
  kind: 'refused',
  because: 'unreadable',
  reason: `${rel}: cannot be read (${code ?? (err as Error).message})`,
  ...(code ? { code } : {}),
});

/** Reads `<root>/<rel>` as UTF-8 if it is a regular file no larger than maxBytes. Never throws. */
export async function readRepoFile(root: string, rel: string, maxBytes: number): Promise<RepoFileRead> {
  const file = join(root, rel);
  let st;
  try {
    st = await lstat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'absent' };
    return unreadable(rel, code, err);
  }
  if (st.isSymbolicLink()) return symlink(rel);
  if (!st.isFile()) return notAFile(rel);
  if (st.size > maxBytes) return { kind: 'refused', because: 'too-large', reason: `${rel} is ${human(st.size)}, over the ${human(maxBytes)} limit` };
  let fh;
  try {
    // O_NOFOLLOW closes the window between lstat and open in which the file could become a link.
    const { constants } = await import('node:fs');
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st2 = await fh.stat();
    if (!st2.isFile()) return notAFile(rel);
    // Read at most one byte past the cap: a file that grew since lstat is still refused.
    const buf = Buffer.alloc(Math.min(st2.size, maxBytes) + 1);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got > maxBytes) return { kind: 'refused', because: 'too-large', reason: `${rel} is over the ${human(maxBytes)} limit` };
    return { kind: 'ok', text: buf.subarray(0, got).toString('utf8'), bytes: got, mtimeMs: st2.mtimeMs };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return symlink(rel);
    if (code === 'ENOENT') return { kind: 'absent' };
    return unreadable(rel, code, err);
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
