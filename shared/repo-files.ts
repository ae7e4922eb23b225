import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { notAFile, symlink, tooLarge, unreadable, type RepoFileRead } from './repo-file-checks.js';

export { REPO_FILE_CAPS, type RefusedBecause, type RepoFileRead } from './repo-file-checks.js';

/*
 * Files that a repository supplies (its config, team knowledge, baseline, ignore file) are untrusted
 * input. They are read only when they are regular files (a symlink could point at /dev/zero, a FIFO
 * or another user's secrets), only up to a cap, and asynchronously, so a hostile file can neither
 * stall the daemon's event loop (and with it every other repository's check) nor blow up its memory.
 */

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
  if (st.size > maxBytes) return tooLarge(rel, st.size, maxBytes);
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
    if (got > maxBytes) return tooLarge(rel, undefined, maxBytes);
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
