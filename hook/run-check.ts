import { readConfigHints } from '../shared/config-hints.js';
import { UserError, oneLine } from '../shared/errors.js';
import { git, repoInfo, type RepoInfo } from '../shared/git.js';
import { hookRepoInfo } from '../shared/hook-repo.js';
import { indexIdentity, sameIdentity, type IndexIdentity } from '../shared/index-identity.js';
import { indexFileFor, indexStamp, stampChecksum } from '../shared/index-state.js';
import { languageOf } from '../shared/languages.js';
import type { CheckParams, CheckResult, FileChange } from '../shared/protocol.js';
import { RpcError } from '../shared/rpc.js';
import { ErrorCodes } from '../shared/protocol-constants.js';
import { stagedChanges } from '../shared/staged.js';
import { llmEnv } from './cached-verdict.js';
import { connectDaemon, DaemonUnavailableError, type DaemonClient, type ProgressHandler } from './client.js';

/*
 * What the pre-commit hook and `reflexgen check` share: collect the change, ask the daemon,
 * and turn "the daemon could not answer" into a verdict according to failMode. When the daemon
 * answered, its verdict stands: the client prints it and carries out the repairs it names.
 */

export interface CheckRun {
  result?: CheckResult;
  root?: string;
  gitDir?: string;
  /** Set when no verdict could be had from the daemon (failMode decided). */
  unavailable?: string;
  /** From the repo config, read leniently (the daemon validates it): what to do when unavailable. */
  failMode?: 'open' | 'closed';
  /** Staged mode: the index's tree changed while the daemon was checking it. */
  indexChanged?: boolean;
}

/**
 * The tree the index would commit, or undefined when git cannot write one (unmerged entries).
 * Content-based, so a stat refresh of the index by another git command is not a change.
 */
export async function indexTree(cwd: string): Promise<string | undefined> {
  try {
    return (await git(cwd, ['write-tree'])).stdout.toString('utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the staged change was read from, to tell afterwards whether the index moved under the check:
 * the file's stamp (unchanged: nothing happened), else its content identity read without git, else,
 * for index formats that reader does not know, the tree `git write-tree` makes of it.
 */
interface IndexGuard {
  file: string;
  stamp?: string;
  identity?: IndexIdentity;
  tree?: string;
}

async function guardIndex(cwd: string, gitDir: string): Promise<IndexGuard> {
  const file = indexFileFor(gitDir, cwd);
  const stamp = indexStamp(file);
  const identity = indexIdentity(gitDir, file);
  return { file, stamp, identity, tree: identity ? undefined : await indexTree(cwd) };
}

async function indexMoved(g: IndexGuard, cwd: string, gitDir: string): Promise<boolean> {
  if (g.stamp !== undefined && indexStamp(g.file) === g.stamp) return false;
  if (g.identity) return !sameIdentity(g.identity, indexIdentity(gitDir, g.file));
  return g.tree !== undefined && (await indexTree(cwd)) !== g.tree;
}

export interface RunCheckOptions {
  cwd: string;
  /**
   * staged: the index against HEAD (the hook, lint-staged). paths: the named files as they are in
   * the working tree. all: every tracked file as staged. diff-base: the committed lines that
   * differ from the merge base with `base` (CI on a branch or pull request).
   */
  mode: 'staged' | 'paths' | 'all' | 'diff-base';
  /** In paths mode the files to check; in the other modes an optional filter (lint-staged passes them). */
  paths?: string[];
  /** The ref to compare with in diff-base mode. */
  base?: string;
  client: 'hook' | 'cli';
  onProgress?: ProgressHandler;
  /** An open connection to a current daemon (the hook's first question left it open). */
  connection?: DaemonClient;
  /** What the client is waiting for before the daemon can say anything (starting it). */
  onWait?: (message: string) => void;
}

async function pathChanges(root: string, cwd: string, paths: string[]): Promise<FileChange[]> {
  const { readFile } = await import('node:fs/promises');
  const { relative, resolve } = await import('node:path');
  const out: FileChange[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    const rel = relative(root, abs).split('\\').join('/');
    if (rel.startsWith('..')) throw new UserError(`${p} is outside the repository ${root}`);
    let bytes: Buffer;
    try {
      bytes = await readFile(abs);
    } catch {
      throw new UserError(`cannot read ${p}`);
    }
    out.push({ path: rel, status: 'A', content: bytes.toString('base64'), binary: false, addedLines: 'all' });
  }
  return out;
}

const LINK_OR_SUBMODULE = new Set(['120000', '160000']);

/** Every tracked file as it is in the index: the whole code base, for CI and `pre-commit run --all-files`. */
async function trackedFiles(root: string): Promise<FileChange[]> {
  const { git } = await import('../shared/git.js');
  const { stdout } = await git(root, ['ls-files', '--stage', '-z', '--full-name']);
  const out: FileChange[] = [];
  const seen = new Set<string>();
  for (const rec of stdout.toString('utf8').split('\0')) {
    // "<mode> <blob> <stage>\t<path>"; a conflicted path has several stages and is not checkable.
    const m = /^(\d{6}) ([0-9a-f]{40,64}) (\d)\t(.+)$/s.exec(rec);
    if (!m || m[3] !== '0' || seen.has(m[4])) continue;
    seen.add(m[4]);
    // Only files some analyzer reads are sent: a large repo's other files would only fill the request.
    if (!languageOf(m[4])) continue;
    out.push({ path: m[4], status: 'A', blob: m[2], binary: LINK_OR_SUBMODULE.has(m[1]), addedLines: 'all' });
  }
  return out;
}

/** Refs name commits here, never options: a base that starts with "-" is refused, and git gets `--end-of-options`. */
function checkRef(ref: string): string {
  if (!ref || ref.startsWith('-') || /[\0-\x1f\x7f]/.test(ref)) throw new UserError(`--diff-base needs a git ref, not "${ref.replace(/[\0-\x1f\x7f]/g, '?')}"`);
  return ref;
}

/** The committed change since the merge base with `base`: HEAD's blobs, with the lines it adds. */
async function diffBaseChanges(root: string, base: string): Promise<FileChange[]> {
  const { git } = await import('../shared/git.js');
  const { parsePatch, parseRaw } = await import('../shared/staged.js');
  const ref = checkRef(base);
  let mergeBase: string;
  try {
    const { stdout } = await git(root, ['merge-base', '--end-of-options', ref, 'HEAD']);
    mergeBase = stdout.toString('utf8').trim();
  } catch {
    throw new UserError(`no merge base between ${base} and HEAD (is ${base} fetched? in CI, check out with enough history, e.g. fetch-depth: 0)`);
  }
  const { stdout } = await git(root, ['diff', '-M', '--no-ext-diff', '--no-textconv', '--no-relative', '--ignore-submodules=all', '--raw', '-p', '-z', '--no-abbrev', '-U0', '--no-color', '--src-prefix=a/', '--dst-prefix=b/', mergeBase, 'HEAD', '--']);
  const split = stdout.indexOf('\0\0');
  const entries = parseRaw(split < 0 ? stdout : stdout.subarray(0, split + 1));
  const sections = parsePatch(split < 0 ? Buffer.alloc(0) : stdout.subarray(split + 2));
  if (sections.length !== entries.length) throw new Error(`git diff returned ${entries.length} files but ${sections.length} patch sections`);
  const out: FileChange[] = [];
  entries.forEach((e, i) => {
    const status = e.status as FileChange['status'];
    if (!['A', 'M', 'R', 'C', 'T'].includes(status)) return;
    out.push({
      path: e.path,
      ...(e.oldPath ? { oldPath: e.oldPath } : {}),
      status,
      blob: e.dstBlob,
      binary: sections[i].binary || LINK_OR_SUBMODULE.has(e.dstMode),
      addedLines: status === 'A' ? 'all' : sections[i].added,
    });
  });
  return out;
}

export async function collectChanges(opts: RunCheckOptions, known?: RepoInfo): Promise<{ root: string; gitDir: string; files: FileChange[] }> {
  // git reports staged paths relative to the top level from anywhere in the work tree, so both
  // plumbing calls can run at once.
  const fromHook = known ?? (opts.client === 'hook' ? hookRepoInfo(opts.cwd) : undefined);
  const [info, staged] = await Promise.all([
    fromHook ?? repoInfo(opts.cwd),
    opts.mode === 'staged' ? stagedChanges(opts.cwd).catch((err: Error) => err) : Promise.resolve([] as FileChange[]),
  ]);
  const { root, gitDir } = info;
  if (opts.mode === 'paths') return { root, gitDir, files: await pathChanges(root, opts.cwd, opts.paths ?? []) };
  if (staged instanceof Error) throw staged;
  let files =
    opts.mode === 'all' ? await trackedFiles(root) : opts.mode === 'diff-base' ? await diffBaseChanges(root, opts.base ?? '') : staged;
  if (opts.paths?.length) {
    const { relative, resolve } = await import('node:path');
    const wanted = new Set(opts.paths.map((p) => relative(root, resolve(opts.cwd, p)).split('\\').join('/')));
    files = files.filter((f) => wanted.has(f.path));
  }
  return { root, gitDir, files };
}


/** A check that could not run in this process either (in-process mode): failMode decides, as for an absent daemon. */
export class CheckUnavailableError extends Error {
  override name = 'CheckUnavailableError';
}

/** Where a check's request goes: the daemon, or the same pipeline in this process (cli/in-process.ts). */
export type CheckTransport = (params: CheckParams, onProgress?: ProgressHandler) => Promise<CheckResult>;

export async function runCheckViaDaemon(opts: RunCheckOptions): Promise<CheckRun> {
  let connection = opts.connection;
  try {
    return await runCheckWith(opts, async (params, onProgress) => {
      connection ??= await connectDaemon({ client: opts.client, onWait: opts.onWait });
      return connection.request<CheckResult>('check', params, onProgress);
    });
  } finally {
    connection?.close();
  }
}

/**
 * Collect the change, send it, and turn "the check could not run" into a verdict according to
 * failMode; for staged checks, note whether the index moved under the check.
 */
export async function runCheckWith(opts: RunCheckOptions, send: CheckTransport): Promise<CheckRun> {
  let guard: IndexGuard | undefined;
  let known: RepoInfo | undefined;
  if (opts.mode === 'staged') {
    // Before the change is read: anything staged after this point shows up as a moved index.
    known = (opts.client === 'hook' ? hookRepoInfo(opts.cwd) : undefined) ?? (await repoInfo(opts.cwd));
    guard = await guardIndex(opts.cwd, known.gitDir);
  }
  const { root, gitDir, files } = await collectChanges(opts, known);
  const hints = await readConfigHints(root);
  // Nothing any analyzer could look at: answer without waking the daemon.
  if (!files.some((f) => f.status !== 'D' && !f.binary && languageOf(f.path))) {
    return {
      failMode: hints.failMode,
      root,
      gitDir,
      result: { verdict: 'pass', findings: [], preExisting: 0, suppressed: 0, analyzers: [], notices: [], timings: { totalMs: 0 } },
    };
  }
  try {
    // The daemon knows two kinds of request: the commit being made, and content named by the caller.
    const mode = opts.mode === 'staged' ? 'staged' : 'paths';
    const checksum = guard?.stamp ? stampChecksum(guard.stamp) : undefined;
    const result = await send(
      { repoRoot: root, gitDir, mode, files, llmEnv: llmEnv(hints.apiKeyEnv), ...(guard && checksum ? { index: { file: guard.file, checksum } } : {}) },
      opts.onProgress,
    );
    const indexChanged = guard !== undefined && (await indexMoved(guard, opts.cwd, gitDir));
    return { result, failMode: hints.failMode, root, gitDir, ...(indexChanged ? { indexChanged } : {}) };
  } catch (err) {
    if (err instanceof RpcError && err.code === ErrorCodes.ConfigError) throw new UserError(err.message);
    if (err instanceof DaemonUnavailableError || err instanceof CheckUnavailableError || err instanceof RpcError || (err as NodeJS.ErrnoException).code) {
      return { unavailable: oneLine(err), failMode: hints.failMode };
    }
    throw err;
  }
}

export interface RepairHandling {
  /** Lines for the report. */
  lines: string[];
  /** Set when a repair the verdict depends on could not be applied: the commit must not proceed. */
  failed?: string;
}

/**
 * Carries out what the daemon decided about verified repairs (loaded lazily: most commits have
 * none). Repairs named in `applyRepairs` are backed up and written to the index (and to the
 * working tree when it equals the staged version): the verdict assumed them. Other verified
 * repairs of a blocked commit are saved under .git/reflexgen/patches/ for `reflexgen apply`.
 */
export async function handleRepairs(run: CheckRun): Promise<RepairHandling> {
  const r = run.result;
  const verified = (r?.repairs ?? []).filter((x) => x.status === 'repaired' && x.content !== undefined && x.patch);
  if (!r || !run.root || !run.gitDir || verified.length === 0) return { lines: [] };
  const { applyRepairs, savePatch } = await import('../shared/apply.js');
  const lines: string[] = [];
  const toApply = new Set(r.applyRepairs ?? []);
  if (toApply.size > 0) {
    const chosen = verified.filter((x) => toApply.has(x.id));
    try {
      const applied = await applyRepairs(
        run.root,
        run.gitDir,
        chosen.map((x) => ({ id: x.id, file: x.file, content: x.content!, stagedBlob: x.stagedBlob, patch: x.patch })),
      );
      for (const f of applied.files) lines.push(`applied the verified repair to ${f.path}${f.worktree ? ' (index and working tree)' : ` (index only: ${f.note})`}`);
      lines.push(`previous content backed up as ${applied.backupId}; \`reflexgen undo\` restores it`);
      return { lines };
    } catch (err) {
      return { lines, failed: `the verified repair could not be applied (${oneLine(err)})` };
    }
  }
  if (r.verdict !== 'block') return { lines };
  for (const x of verified) {
    savePatch(run.gitDir, { id: x.id, file: x.file, content: x.content!, stagedBlob: x.stagedBlob, patch: x.patch! });
    lines.push(`verified repair for ${x.file} saved: apply it with \`reflexgen apply ${x.id}\``);
  }
  return { lines };
}

/** The exit status for a daemon answer: what it decided, unless the client could not carry it out. */
export function exitCodeFor(run: CheckRun, repairs: RepairHandling): { code: number; reason?: string } {
  if (run.indexChanged) return { code: 1, reason: 'the index changed during the check; commit again' };
  if (repairs.failed) return { code: 1, reason: `${repairs.failed}; commit blocked` };
  return { code: run.result?.verdict === 'block' ? 1 : 0 };
}
