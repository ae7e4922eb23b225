import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { currentUid, UnsafePathError } from './paths.js';

// A token is 64 hex digits; anything much longer is not one of ours.
const MAX_TOKEN_BYTES = 256;

/**
 * Reads the per-user token; undefined when there is none yet (no daemon has ever started).
 * The file is opened without following a symlink and checked on the open descriptor: a regular
 * file owned by this user with mode 0600. Anything else is refused (never chmod-ed: a token that
 * others could read must be replaced, not kept).
 */
export function readToken(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new UnsafePathError(`refusing token file ${file}: it is a symbolic link (remove it; the daemon makes a new one)`);
    throw err;
  }
  try {
    const st = fstatSync(fd);
    const uid = currentUid();
    if (!st.isFile()) throw new UnsafePathError(`refusing token file ${file}: it is not a regular file (remove it; the daemon makes a new one)`);
    if (uid !== undefined && st.uid !== uid) {
      throw new UnsafePathError(`refusing token file ${file}: it belongs to uid ${st.uid}, not to you (uid ${uid}); remove it and restart the daemon`);
    }
    if ((st.mode & 0o777) !== 0o600) {
      throw new UnsafePathError(
        `refusing token file ${file}: mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} is not 0600; others may have read it: stop the daemon and remove it (a new one is made)`,
      );
    }
    const buf = Buffer.alloc(MAX_TOKEN_BYTES);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').trim() || undefined;
  } finally {
    closeSync(fd);
  }
}

/** Returns the existing token or creates one, exclusively and with mode 0600. */
export async function ensureToken(file: string): Promise<string> {
  // node:crypto is loaded here only: the daemon creates tokens, the hook only reads them.
  const { randomBytes } = await import('node:crypto');
  const { rmSync } = await import('node:fs');
  for (let attempt = 0; ; attempt++) {
    const existing = readToken(file);
    if (existing) return existing;
    const token = randomBytes(32).toString('hex');
    let fd: number;
    try {
      fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw new Error(`could not create the token file ${file}: ${(err as Error).message}`);
      // Another daemon won the race (its token is read above on the next turn), or an empty file
      // was left by a crash mid-write: give that one a moment, then replace an empty file.
      await new Promise((r) => setTimeout(r, 50));
      if (readToken(file) === undefined) rmSync(file, { force: true });
      continue;
    }
    try {
      writeSync(fd, token + '\n');
    } catch (err) {
      // A half-written token (full disk) would lock every client out: leave no file behind.
      closeSync(fd);
      rmSync(file, { force: true });
      throw new Error(`could not write the token file ${file}: ${(err as Error).message}`);
    }
    closeSync(fd);
    return token;
  }
}
