import { basename, dirname } from 'node:path';
import { readRepoFileSync } from './repo-files-sync.js';
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

/** A small regular file's JSON, or undefined (absent, refused, or not JSON). */
function readSmallJson(file: string): { failMode?: unknown } | undefined {
  const read = readRepoFileSync(dirname(file), basename(file), MAX_HINT_BYTES);
  if (read.kind !== 'ok') return undefined;
  try {
    return JSON.parse(read.text) as { failMode?: unknown };
  } catch {
    return undefined;
  }
}

export async function readConfigHints(repoRoot: string, env: NodeJS.ProcessEnv = process.env): Promise<ConfigHints> {
  const user = readSmallJson(userConfigPath(env));
  const repo = readSmallJson(`${repoRoot}/.reflexgenrc.json`);
  const failMode = repo?.failMode ?? user?.failMode;
  return { failMode: failMode === 'closed' ? 'closed' : 'open', apiKeyEnv: apiKeyEnvFrom(user) };
}

/** Only the user's `llm.apiKeyEnv`: what the hook's first question needs (failMode matters only when no answer comes). */
export function readApiKeyEnv(env: NodeJS.ProcessEnv = process.env): string {
  return apiKeyEnvFrom(readSmallJson(userConfigPath(env)));
}
