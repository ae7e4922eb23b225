import { chmodSync, openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';

/** Reads the per-user token; undefined when there is none yet (no daemon has ever started). */
export function readToken(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Returns the existing token or creates one, exclusively and with mode 0600. */
export async function ensureToken(file: string): Promise<string> {
  // node:crypto is loaded here only: the daemon creates tokens, the hook only reads them.
  const { randomBytes } = await import('node:crypto');
  const existing = readToken(file);
  if (existing) {
    if ((statSync(file).mode & 0o777) !== 0o600) chmodSync(file, 0o600);
    return existing;
  }
  const token = randomBytes(32).toString('hex');
  try {
    const fd = openSync(file, 'wx', 0o600);
    writeSync(fd, token + '\n');
    closeSync(fd);
    return token;
  } catch (err) {
    // Another daemon won the race: use its token.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readToken(file) ?? token;
    throw err;
  }
}
