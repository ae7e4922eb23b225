import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { git, repoInfo } from '../shared/git.js';
import { packageRoot } from '../shared/paths.js';
import { UserError } from '../shared/errors.js';

/*
 * `reflexgen init`: installs the pre-commit hook the way the repo already runs hooks: a husky
 * line, a lint-staged task, or a plain .git/hooks/pre-commit that chains any hook it finds.
 */

export const MARKER = '# reflexgen pre-commit hook';
export const CHAINED = 'pre-commit.reflexgen-chained';

export type InitMode = 'husky' | 'git-hook' | 'lint-staged';

/** The shell command that runs the hook: the repo's own install when it has one, else this package. */
export function hookCommand(repoRoot: string): string {
  if (existsSync(join(repoRoot, 'node_modules', '.bin', 'reflexgen-hook'))) return './node_modules/.bin/reflexgen-hook';
  const entry = join(packageRoot(), 'dist', 'hook', 'hook.mjs');
  return `"${process.execPath}" "${entry}"`;
}

function usesHusky(root: string): boolean {
  if (existsSync(join(root, '.husky'))) return true;
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    return Boolean(pkg.devDependencies?.husky ?? pkg.dependencies?.husky);
  } catch {
    return false;
  }
}

async function hooksDir(root: string): Promise<string> {
  // Honours core.hooksPath and worktrees.
  const { stdout } = await git(root, ['rev-parse', '--git-path', 'hooks']);
  const p = stdout.toString('utf8').trim();
  return isAbsolute(p) ? p : join(root, p);
}

export interface InitResult {
  mode: InitMode;
  file: string;
  message: string;
}

async function installGitHook(root: string): Promise<InitResult> {
  const dir = await hooksDir(root);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'pre-commit');
  let chained = false;
  if (existsSync(file)) {
    const current = readFileSync(file, 'utf8');
    if (!current.includes(MARKER)) {
      // Keep the user's hook: it runs first, and a failure there still blocks the commit.
      renameSync(file, join(dir, CHAINED));
      chained = true;
    }
  }
  chained ||= existsSync(join(dir, CHAINED));
  const script = [
    '#!/bin/sh',
    MARKER,
    '# Installed by `reflexgen init`. Skip once with REFLEXGEN_SKIP=1 or git commit --no-verify.',
    ...(chained ? [`"$(dirname "$0")/${CHAINED}" "$@" || exit $?`] : []),
    `exec ${hookCommand(root)}`,
    '',
  ].join('\n');
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  return { mode: 'git-hook', file, message: `installed ${relative(root, file) || file}${chained ? ` (your previous hook runs first, from ${CHAINED})` : ''}` };
}

function installHusky(root: string): InitResult {
  const dir = join(root, '.husky');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'pre-commit');
  const line = existsSync(join(root, 'node_modules', '.bin', 'reflexgen-hook')) ? 'reflexgen-hook' : hookCommand(root);
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (current.includes('reflexgen')) return { mode: 'husky', file, message: '.husky/pre-commit already runs reflexgen' };
  writeFileSync(file, `${current}${current && !current.endsWith('\n') ? '\n' : ''}${line}\n`);
  chmodSync(file, 0o755);
  return { mode: 'husky', file, message: 'added reflexgen to .husky/pre-commit (run `npx husky` once if husky is not initialised yet)' };
}

const LINT_STAGED_GLOB = '*.{py,c,h,cc,cpp,cxx,hpp,js,mjs,cjs,jsx,ts,mts,cts,tsx}';

function installLintStaged(root: string): InitResult {
  const pkgFile = join(root, 'package.json');
  const task = 'reflexgen check --staged';
  if (existsSync(pkgFile)) {
    let pkg: Record<string, unknown>;
    try {
      pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
    } catch {
      throw new UserError('package.json is not valid JSON');
    }
    if (pkg['lint-staged'] !== undefined || !existsSync(join(root, '.lintstagedrc.json'))) {
      const ls = (pkg['lint-staged'] ?? {}) as Record<string, string | string[]>;
      const existing = ls[LINT_STAGED_GLOB];
      const tasks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
      if (!tasks.includes(task)) ls[LINT_STAGED_GLOB] = [...tasks, task];
      pkg['lint-staged'] = ls;
      writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + '\n');
      return { mode: 'lint-staged', file: pkgFile, message: `added "${task}" to lint-staged in package.json` };
    }
  }
  const rc = join(root, '.lintstagedrc.json');
  const cfg = existsSync(rc) ? (JSON.parse(readFileSync(rc, 'utf8')) as Record<string, string | string[]>) : {};
  const existing = cfg[LINT_STAGED_GLOB];
  const tasks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  if (!tasks.includes(task)) cfg[LINT_STAGED_GLOB] = [...tasks, task];
  writeFileSync(rc, JSON.stringify(cfg, null, 2) + '\n');
  return { mode: 'lint-staged', file: rc, message: `added "${task}" to .lintstagedrc.json` };
}

export async function init(cwd: string, mode?: InitMode): Promise<InitResult> {
  const { root } = await repoInfo(cwd);
  const chosen = mode ?? (usesHusky(root) ? 'husky' : 'git-hook');
  if (chosen === 'husky') return installHusky(root);
  if (chosen === 'lint-staged') return installLintStaged(root);
  return installGitHook(root);
}
