import { readConfigHints } from '../shared/config-hints.js';
import { UserError, oneLine } from '../shared/errors.js';
import { git, hookRepoInfo, repoInfo } from '../shared/git.js';
import { languageOf } from '../shared/languages.js';
import type { CheckResult, FileChange } from '../shared/protocol.js';
import { RpcError } from '../shared/rpc.js';
import { ErrorCodes } from '../shared/protocol-constants.js';
import { stagedChanges } from '../shared/staged.js';
import { connectDaemon, DaemonUnavailableError, type ProgressHandler } from './client.js';

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

export interface RunCheckOptions {
  cwd: string;
  mode: 'staged' | 'paths';
  /** In paths mode the files to check; in staged mode an optional filter (lint-staged passes them). */
  paths?: string[];
  client: 'hook' | 'cli';
  onProgress?: ProgressHandler;
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

export async function collectChanges(opts: RunCheckOptions): Promise<{ root: string; gitDir: string; files: FileChange[] }> {
  // git reports staged paths relative to the top level from anywhere in the work tree, so both
  // plumbing calls can run at once.
  const fromHook = opts.client === 'hook' ? hookRepoInfo(opts.cwd) : undefined;
  const [info, staged] = await Promise.all([
    fromHook ?? repoInfo(opts.cwd),
    opts.mode === 'staged' ? stagedChanges(opts.cwd).catch((err: Error) => err) : Promise.resolve([] as FileChange[]),
  ]);
  const { root, gitDir } = info;
  if (opts.mode === 'paths') return { root, gitDir, files: await pathChanges(root, opts.cwd, opts.paths ?? []) };
  if (staged instanceof Error) throw staged;
  let files = staged;
  if (opts.paths?.length) {
    const { relative, resolve } = await import('node:path');
    const wanted = new Set(opts.paths.map((p) => relative(root, resolve(opts.cwd, p)).split('\\').join('/')));
    files = files.filter((f) => wanted.has(f.path));
  }
  return { root, gitDir, files };
}

/** The LLM-related variables of this process's environment, forwarded to the daemon. */
export function llmEnv(apiKeyEnv = 'OPENAI_API_KEY'): Record<string, string> {
  const names = ['REFLEXGEN_LLM_BASE_URL', 'REFLEXGEN_LLM_MODEL', 'REFLEXGEN_LLM_API_KEY', apiKeyEnv];
  const out: Record<string, string> = {};
  for (const n of names) if (process.env[n]) out[n] = process.env[n]!;
  return out;
}

export async function runCheckViaDaemon(opts: RunCheckOptions): Promise<CheckRun> {
  // Before the change is read: anything staged after this point shows up as a different tree.
  const treeBefore = opts.mode === 'staged' ? await indexTree(opts.cwd) : undefined;
  const { root, gitDir, files } = await collectChanges(opts);
  const hints = readConfigHints(root);
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
    const client = await connectDaemon({ client: opts.client });
    try {
      const result = await client.request<CheckResult>('check', { repoRoot: root, gitDir, mode: opts.mode, files, llmEnv: llmEnv(hints.apiKeyEnv) }, opts.onProgress);
      const indexChanged = treeBefore !== undefined && (await indexTree(opts.cwd)) !== treeBefore;
      return { result, failMode: hints.failMode, root, gitDir, ...(indexChanged ? { indexChanged } : {}) };
    } finally {
      client.close();
    }
  } catch (err) {
    if (err instanceof RpcError && err.code === ErrorCodes.ConfigError) throw new UserError(err.message);
    if (err instanceof DaemonUnavailableError || err instanceof RpcError || (err as NodeJS.ErrnoException).code) {
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
