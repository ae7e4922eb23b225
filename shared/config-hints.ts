import { closeSync, fstatSync, openSync, readSync, constants } from 'node:fs';
import { join } from 'node:path';
import { apiKeyEnvFrom, userConfigPath } from './user-settings.js';

/*
 * The two settings the hook itself needs, read leniently without the schema library: the daemon
 * validates the whole file on every check and reports any problem as one line. failMode matters when
 * the daemon cannot be reached; apiKeyEnv names the variable to forward, and comes from the user's
 * own settings only: a repository must never pick which of the user's secrets leaves the shell.
 */

export interface ConfigHints {
  failMode: 'open' | 'closed';
  apiKeyEnv: string;
}

const MAX_HINT_BYTES = 256 * 1024;

/** A small regular file's JSON, or undefined: never follows a link, never reads past the cap. */
function readSmallJson(file: string): unknown {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_HINT_BYTES) return undefined;
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return JSON.parse(buf.subarray(0, got).toString('utf8'));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function readConfigHints(repoRoot: string, env: NodeJS.ProcessEnv = process.env): ConfigHints {
  const user = readSmallJson(userConfigPath(env)) as { failMode?: unknown } | undefined;
  const repo = readSmallJson(join(repoRoot, '.reflexgenrc.json')) as { failMode?: unknown } | undefined;
  const failMode = repo?.failMode ?? user?.failMode;
  return { failMode: failMode === 'closed' ? 'closed' : 'open', apiKeyEnv: apiKeyEnvFrom(user) };
}
