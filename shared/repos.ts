import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/*
 * Repositories the daemon watches, persisted in the state dir so a restarted daemon resumes
 * watching them. `reflexgen init` and the first check of a repo add to it.
 */

export interface RepoEntry {
  root: string;
  gitDir: string;
}

const FILE = 'repos.json';

export function readRepos(stateDir: string): RepoEntry[] {
  try {
    const v = JSON.parse(readFileSync(join(stateDir, FILE), 'utf8'));
    return Array.isArray(v) ? v.filter((r) => r && typeof r.root === 'string' && typeof r.gitDir === 'string') : [];
  } catch {
    return [];
  }
}

export function writeRepos(stateDir: string, repos: RepoEntry[]): void {
  const file = join(stateDir, FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(repos, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

export function addRepo(stateDir: string, entry: RepoEntry): boolean {
  const repos = readRepos(stateDir);
  if (repos.some((r) => r.root === entry.root)) return false;
  writeRepos(stateDir, [...repos, entry]);
  return true;
}
