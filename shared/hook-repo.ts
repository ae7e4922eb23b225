import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RepoInfo } from './git.js';

/**
 * The repository of a running git hook, without a git process: git runs hooks from the top of the
 * work tree (exporting GIT_DIR only when it was given one), so the work tree is the cwd and the git
 * dir is `.git` there (a directory, or a `gitdir:` file for worktrees and submodules). Kept apart
 * from git.ts so that the hook's first answer does not load child_process.
 */
export function hookRepoInfo(cwd: string, env: NodeJS.ProcessEnv = process.env): RepoInfo | undefined {
  if (env.GIT_DIR) return { root: env.GIT_WORK_TREE ? resolve(cwd, env.GIT_WORK_TREE) : cwd, gitDir: resolve(cwd, env.GIT_DIR) };
  const dotGit = join(cwd, '.git');
  try {
    if (statSync(dotGit).isDirectory()) return { root: cwd, gitDir: dotGit };
    const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
    return m ? { root: cwd, gitDir: resolve(cwd, m[1].trim()) } : undefined;
  } catch {
    return undefined;
  }
}
