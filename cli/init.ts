import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { git, repoInfo } from '../shared/git.js';
import { packageRoot } from '../shared/paths.js';
import { UserError } from '../shared/errors.js';

/*
 * `reflexgen init`: installs the pre-commit hook the way the repo already runs hooks: a husky
 * line, a lint-staged task, or a plain .git/hooks/pre-commit that chains any hook it finds.
 *
 * The hook runs the RefleXGen the user installed, never a file the repository supplies: a cloned
 * repository that tracks node_modules/.bin/reflexgen-hook must not be able to replace the gate.
 */

export const MARKER = '# reflexgen pre-commit hook';
export const CHAINED = 'pre-commit.reflexgen-chained';

export type InitMode = 'husky' | 'git-hook' | 'lint-staged';

/** POSIX shell single quoting: nothing inside is expanded. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function insideRepo(root: string, p: string): string | undefined {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)) ? rel.split(sep).join('/') : undefined;
}

/**
 * Refuses when the repository tracks (or stages) anything on `relPath`: the path itself, a file
 * under it, or one of its parent directories as a file or symlink. `:(literal)` keeps git from
 * reading the names as globs.
 */
async function refuseTracked(root: string, relPaths: string[]): Promise<void> {
  const specs = new Set<string>();
  for (const rel of relPaths) {
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) specs.add(parts.slice(0, i).join('/'));
  }
  const { stdout } = await git(root, ['ls-files', '-z', '--cached', '--full-name', '--', ...[...specs].map((s) => `:(literal)${s}`)]);
  const tracked = stdout.toString('utf8').split('\0').filter(Boolean);
  const hit = tracked.find((t) => relPaths.some((rel) => t === rel || t.startsWith(`${rel}/`) || rel.startsWith(`${t}/`)));
  if (hit !== undefined) {
    throw new UserError(
      `refusing to install: ${hit} is tracked by git, so the repository would choose what the hook runs; install reflexgen outside it (npm i -g reflexgen) or untrack it (git rm -r --cached -- ${hit.split('/').slice(0, 2).join('/')})`,
    );
  }
}

export interface Install {
  /** This package's directory (as the user installed it, symlinks resolved). */
  pkg: string;
  /** The package directory relative to the repository root, when the install lies inside it. */
  inRepo?: string;
  /** The hook entry and the node binary, absolute. */
  hook: string;
  node: string;
}

/** Where the running RefleXGen is installed; refuses when the repository controls that place. */
export async function resolveInstall(root: string): Promise<Install> {
  const apparent = packageRoot();
  let real = apparent;
  try {
    real = realpathSync(apparent);
  } catch {
    // keep the apparent path
  }
  const rootReal = realpathSync(root);
  const inside = [insideRepo(rootReal, real), insideRepo(root, apparent), insideRepo(rootReal, apparent)].filter((x): x is string => x !== undefined && x !== '');
  if (insideRepo(rootReal, real) === '') throw new UserError(`refusing to install: reflexgen runs from this repository's own top level (${root}); install it as a package`);
  if (inside.length) await refuseTracked(root, [...new Set(inside)]);
  return { pkg: real, inRepo: insideRepo(rootReal, real) || undefined, hook: join(real, 'dist', 'hook', 'hook.cjs'), node: process.execPath };
}

/** The shell command that runs the hook: this install's entry with this node, both absolute. */
export async function hookCommand(root: string): Promise<string> {
  const inst = await resolveInstall(root);
  return `${shQuote(inst.node)} ${shQuote(inst.hook)}`;
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function usesHusky(root: string): boolean {
  if (existsSync(join(root, '.husky'))) return true;
  const pkg = readJson(join(root, 'package.json')) as { devDependencies?: Record<string, string>; dependencies?: Record<string, string> } | undefined;
  return Boolean(pkg?.devDependencies?.husky ?? pkg?.dependencies?.husky);
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
  const command = await hookCommand(root);
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
    '# It runs the reflexgen you installed, by absolute path: no file of the repository chooses it.',
    ...(chained ? [`"$(dirname "$0")/${CHAINED}" "$@" || exit $?`] : []),
    `exec ${command}`,
    '',
  ].join('\n');
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  return { mode: 'git-hook', file, message: `installed ${relative(root, file) || file}${chained ? ` (your previous hook runs first, from ${CHAINED})` : ''}` };
}

/** Appends `line` to .husky/pre-commit unless a line already contains `already`. */
function addHuskyLine(root: string, line: string, already: RegExp): { file: string; added: boolean } {
  const dir = join(root, '.husky');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'pre-commit');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (current.split('\n').some((l) => already.test(l) && !l.trimStart().startsWith('#'))) return { file, added: false };
  writeFileSync(file, `${current}${current && !current.endsWith('\n') ? '\n' : ''}${line}\n`);
  chmodSync(file, 0o755);
  return { file, added: true };
}

/** Whether git runs husky's hooks here (core.hooksPath set by `husky`). */
async function huskyActive(root: string): Promise<boolean> {
  const dir = await hooksDir(root);
  return insideRepo(join(root, '.husky'), dir) !== undefined;
}

async function installHusky(root: string): Promise<InitResult> {
  const inst = await resolveInstall(root);
  // .husky/pre-commit is shared with the team: a devDependency is named relative to the top level
  // (every clone has it there), a global install by its absolute path.
  const line = inst.inRepo ? `node ${shQuote(`./${inst.inRepo}/dist/hook/hook.cjs`)}` : `${shQuote(inst.node)} ${shQuote(inst.hook)}`;
  const { file, added } = addHuskyLine(root, line, /reflexgen/);
  if (!added) return { mode: 'husky', file, message: '.husky/pre-commit already runs reflexgen' };
  const note = (await huskyActive(root)) ? '' : ' (husky is not active in this clone yet: run `npx husky` once)';
  return { mode: 'husky', file, message: `added reflexgen to .husky/pre-commit${note}` };
}

/* ---------------------------------------------------------------- lint-staged */

export const LINT_STAGED_GLOB = '*.{py,pyw,c,h,cc,cpp,cxx,hh,hpp,hxx,js,mjs,cjs,jsx,ts,mts,cts,tsx}';
export const LINT_STAGED_TASK = 'reflexgen check --staged';

/** lint-staged 16's search list (lib/configFiles.js), in its order. */
export const LINT_STAGED_FILES = [
  'package.json',
  'package.yaml',
  'package.yml',
  '.lintstagedrc',
  '.lintstagedrc.json',
  '.lintstagedrc.yaml',
  '.lintstagedrc.yml',
  '.lintstagedrc.mjs',
  '.lintstagedrc.mts',
  '.lintstagedrc.js',
  '.lintstagedrc.ts',
  '.lintstagedrc.cjs',
  '.lintstagedrc.cts',
  'lint-staged.config.mjs',
  'lint-staged.config.mts',
  'lint-staged.config.js',
  'lint-staged.config.ts',
  'lint-staged.config.cjs',
  'lint-staged.config.cts',
];

const MAX_CONFIG_BYTES = 1 << 20;

function readSmallFile(file: string): string | undefined {
  try {
    const st = lstatSync(file);
    if (!st.isFile() || st.size > MAX_CONFIG_BYTES) return undefined;
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether lint-staged would take a configuration from this file (package files only with the key). */
function holdsLintStagedConfig(file: string): boolean {
  const name = basename(file);
  const text = readSmallFile(file);
  if (text === undefined) return false;
  if (name === 'package.json') return readJson(file)?.['lint-staged'] !== undefined;
  if (name === 'package.yaml' || name === 'package.yml') return /^["']?lint-staged["']?\s*:/m.test(text);
  return true;
}

/**
 * The configuration files lint-staged will use, one per directory: like lint-staged, it lists the
 * candidates git knows (tracked or untracked, not ignored) plus those in the top level, sorts them
 * by path, and the first of a directory governs the files under it (deeper directories first).
 */
export async function findLintStagedConfigs(root: string): Promise<string[]> {
  const { stdout } = await git(root, ['ls-files', '-z', '--full-name', '--cached', '--others', '--exclude-standard', '--', ...LINT_STAGED_FILES.map((f) => `:(glob)**/${f}`)]);
  const found = new Set(stdout.toString('utf8').split('\0').filter(Boolean).map((p) => join(root, p)));
  for (const f of LINT_STAGED_FILES) if (existsSync(join(root, f))) found.add(join(root, f));
  const usable = [...found].filter((f) => existsSync(f) && holdsLintStagedConfig(f)).sort((a, b) => a.localeCompare(b));
  const byDir = new Map<string, string>();
  for (const f of usable) if (!byDir.has(dirname(f))) byDir.set(dirname(f), f);
  return [...byDir.values()];
}

type Tasks = Record<string, unknown>;

function addTask(cfg: Tasks): boolean {
  for (const v of Object.values(cfg)) {
    const list = Array.isArray(v) ? v : [v];
    if (list.some((t) => typeof t === 'string' && /(^|[^\w-])reflexgen\s+check\b/.test(t))) return false;
  }
  const existing = cfg[LINT_STAGED_GLOB];
  const tasks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  cfg[LINT_STAGED_GLOB] = [...tasks, LINT_STAGED_TASK];
  return true;
}

function entryFor(file: string): string {
  const name = basename(file);
  if (/\.(c|m)?(j|t)s$/.test(name)) return `'${LINT_STAGED_GLOB}': '${LINT_STAGED_TASK}'`;
  return `'${LINT_STAGED_GLOB}': ${LINT_STAGED_TASK}`;
}

async function installLintStaged(root: string): Promise<InitResult> {
  // lint-staged finds `reflexgen` through node_modules/.bin first: that entry must not be the repository's.
  const inst = await resolveInstall(root);
  await refuseTracked(root, ['node_modules/.bin/reflexgen']);
  let configs = await findLintStagedConfigs(root);
  if (configs.length === 0) {
    const pkgFile = join(root, 'package.json');
    configs = [existsSync(pkgFile) ? pkgFile : join(root, '.lintstagedrc.json')];
  }
  // Decide every file before writing any: a configuration init cannot edit stops it with the exact entry.
  const edits: Array<{ file: string; write: () => boolean }> = [];
  for (const file of configs) {
    const rel = relative(root, file) || file;
    const name = basename(file);
    const text = existsSync(file) ? readSmallFile(file) : '';
    if (text === undefined) throw new UserError(`cannot read ${rel} (not a regular file of at most 1 MiB)`);
    if (name === 'package.json') {
      const pkg = text ? readJson(file) : {};
      if (!pkg) throw new UserError(`${rel} is not valid JSON`);
      const ls = pkg['lint-staged'] ?? {};
      if (typeof ls !== 'object' || Array.isArray(ls) || ls === null) throw new UserError(`"lint-staged" in ${rel} is not an object; add ${entryFor('x.json')} to its configuration`);
      edits.push({ file, write: () => { const changed = addTask(ls as Tasks); pkg['lint-staged'] = ls; if (changed) writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n'); return changed; } });
      continue;
    }
    // .lintstagedrc (YAML or JSON) and .lintstagedrc.json are edited when they hold a JSON object.
    const json = name === '.lintstagedrc.json' || name === '.lintstagedrc' ? (text === '' ? {} : readJson(file)) : undefined;
    if (json) {
      edits.push({ file, write: () => { const changed = addTask(json); if (changed) writeFileSync(file, JSON.stringify(json, null, 2) + '\n'); return changed; } });
      continue;
    }
    if (/(^|[^\w-])reflexgen\s+check\b/.test(text)) continue;
    throw new UserError(`lint-staged reads ${rel}, which init does not edit: add ${entryFor(file)} to its configuration, then run init again`);
  }
  const changed = edits.filter((e) => e.write()).map((e) => relative(root, e.file));
  const husky = addHuskyLine(root, 'npx lint-staged', /lint-staged/);
  const parts = [
    changed.length ? `added "${LINT_STAGED_TASK}" to lint-staged in ${changed.join(', ')}` : 'lint-staged already runs reflexgen',
    husky.added ? 'added `npx lint-staged` to .husky/pre-commit' : '.husky/pre-commit runs lint-staged',
  ];
  if (!(await huskyActive(root))) parts.push('husky is not active in this clone yet: run `npx husky` once (lint-staged only runs from its hook)');
  if (!inst.inRepo) parts.push('lint-staged runs the `reflexgen` on PATH');
  return { mode: 'lint-staged', file: changed.length ? join(root, changed[0]) : configs[0], message: parts.join('; ') };
}

export async function init(cwd: string, mode?: InitMode): Promise<InitResult> {
  const { root } = await repoInfo(cwd);
  const chosen = mode ?? (usesHusky(root) ? 'husky' : 'git-hook');
  if (chosen === 'husky') return installHusky(root);
  if (chosen === 'lint-staged') return installLintStaged(root);
  return installGitHook(root);
}
