import ignorePackage, { type Ignore } from 'ignore';
import { git } from './git.js';
import { readRepoFile } from './repo-files.js';

/*
 * Which files a check leaves out: `exclude` from the config and the `.reflexgenignore` file, both
 * with gitignore semantics (the `ignore` package, which implements git's matching rules: a
 * pattern without a slash matches at any depth, `dir/` matches a directory, `!` re-includes).
 */

export const IGNORE_FILE = '.reflexgenignore';
/** Far above any real ignore file, small enough that a hostile one costs nothing. */
export const IGNORE_FILE_MAX_BYTES = 64 * 1024;

// A CommonJS module whose typings declare an ES default export; at run time the module itself and
// its `default` are the same factory.
const ignore = ignorePackage.default;

const matchers = new Map<string, Ignore>();

function matcher(patterns: readonly string[]): Ignore {
  const key = patterns.join('\n');
  let m = matchers.get(key);
  if (!m) {
    m = ignore().add(patterns as string[]);
    // Configs change rarely; the cap only keeps a long-lived daemon from growing without bound.
    if (matchers.size > 64) matchers.clear();
    matchers.set(key, m);
  }
  return m;
}

/** Whether a repo-relative path (forward slashes) is excluded by gitignore-style `patterns`. */
export function isExcluded(path: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return false;
  try {
    return matcher(patterns).ignores(path);
  } catch {
    // `ignore` rejects paths that are not relative (`./x`, `/x`); those never come from git.
    return false;
  }
}

/** Lines of an ignore file as patterns: comments and blank lines dropped, as git does. */
export function parseIgnoreFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

export interface IgnoreFile {
  patterns: string[];
  /** Where the patterns came from: 'index', 'worktree', or none. */
  source?: 'index' | 'worktree';
  /** One line for the report when the file was present but not used. */
  notice?: string;
}

/**
 * The repository's `.reflexgenignore`: the staged version when the index has one (that is what
 * is being committed), else the file at the top of the work tree. Only a regular file of at most
 * 64 KiB is read; a symlink or anything else is refused with a notice, never followed.
 */
export async function readIgnoreFile(repoRoot: string, opts: { fromIndex?: boolean } = {}): Promise<IgnoreFile> {
  if (opts.fromIndex !== false) {
    const { stdout } = await git(repoRoot, ['ls-files', '--stage', '-z', '--', `:(literal)${IGNORE_FILE}`]);
    const m = /^(\d{6}) ([0-9a-f]{40,64}) 0\t/.exec(stdout.toString('utf8'));
    if (m) {
      if (m[1] !== '100644' && m[1] !== '100755') return { patterns: [], notice: `${IGNORE_FILE} is staged as a symlink or submodule, not a file: not used` };
      const size = Number((await git(repoRoot, ['cat-file', '-s', m[2]])).stdout.toString('utf8').trim());
      if (!(size <= IGNORE_FILE_MAX_BYTES)) return { patterns: [], notice: `${IGNORE_FILE} is larger than ${IGNORE_FILE_MAX_BYTES / 1024} KiB: not used` };
      const { stdout: body } = await git(repoRoot, ['cat-file', 'blob', m[2]]);
      return { patterns: parseIgnoreFile(body.toString('utf8')), source: 'index' };
    }
  }
  const read = await readRepoFile(repoRoot, IGNORE_FILE, IGNORE_FILE_MAX_BYTES);
  if (read.kind === 'absent') return { patterns: [] };
  if (read.kind === 'ok') return { patterns: parseIgnoreFile(read.text), source: 'worktree' };
  const why = {
    symlink: 'is a symlink: not followed',
    'not-a-file': 'is not a regular file',
    'too-large': `is larger than ${IGNORE_FILE_MAX_BYTES / 1024} KiB`,
    unreadable: `cannot be read (${read.code ?? 'error'})`,
  }[read.because];
  return { patterns: [], notice: `${IGNORE_FILE} ${why}: not used` };
}

/** `exclude` from the config plus the ignore file's patterns, and the ignore file's notice if any. */
export async function excludeRules(repoRoot: string, configExclude: readonly string[], opts: { fromIndex?: boolean } = {}): Promise<{ patterns: string[]; notice?: string }> {
  const file = await readIgnoreFile(repoRoot, opts);
  return { patterns: [...configExclude, ...file.patterns], notice: file.notice };
}
