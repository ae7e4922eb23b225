import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { notAFile, symlink, tooLarge, unreadable, type RepoFileRead } from './repo-file-checks.js';

/*
 * readRepoFile (shared/repo-files.ts) for one-shot client processes: the same checks (regular file,
 * no symlink, O_NOFOLLOW, a cap) with synchronous calls. The hook has nothing else to do meanwhile,
 * and node:fs/promises alone loads a dozen internal modules at its start.
 */
export function readRepoFileSync(root: string, rel: string, maxBytes: number): RepoFileRead {
  const file = join(root, rel);
  let st;
  try {
    st = lstatSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'absent' };
    return unreadable(rel, code, err);
  }
  if (st.isSymbolicLink()) return symlink(rel);
  if (!st.isFile()) return notAFile(rel);
  if (st.size > maxBytes) return tooLarge(rel, st.size, maxBytes);
  let fd: number | undefined;
  try {
    // O_NOFOLLOW closes the window between lstat and open in which the file could become a link;
    // O_NONBLOCK keeps a FIFO swapped in meanwhile from blocking the open.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st2 = fstatSync(fd);
    if (!st2.isFile()) return notAFile(rel);
    // At most one byte past the cap: a file that grew since lstat is still refused.
    const buf = Buffer.alloc(Math.min(st2.size, maxBytes) + 1);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    if (got > maxBytes) return tooLarge(rel, undefined, maxBytes);
    return { kind: 'ok', text: buf.subarray(0, got).toString('utf8'), bytes: got, mtimeMs: st2.mtimeMs };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return symlink(rel);
    if (code === 'ENOENT') return { kind: 'absent' };
    return unreadable(rel, code, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
