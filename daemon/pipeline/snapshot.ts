import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { git, readBlobs, looksBinary } from '../../shared/git.js';
import { languageOf } from '../../shared/languages.js';
import type { FileChange } from '../../shared/protocol.js';
import type { SourceFile } from '../analyzers/types.js';
import { gitBlobId } from './cache.js';
import { isExcluded } from '../../shared/ignore-rules.js';
export { isExcluded };

/*
 * The staged versions of the changed files, written to a private temp directory at their
 * repo-relative paths. Analyzers only ever see this copy: never the working tree, which may hold
 * unstaged edits (partial staging) that are not part of the commit.
 *
 * The directory is written once, completely, by the first analyzer that needs files on disk; every
 * other analyzer awaits the same promise, so no tool ever starts in a half-written directory. A
 * check answered from the result cache (or by in-process analyzers only) touches no disk. The
 * directory's name carries the daemon's pid, so a daemon that starts after a crash can tell the
 * leftovers of a dead process from the live snapshots of another daemon and remove them.
 */

export const SNAPSHOT_PREFIX = 'reflexgen-snap-';
/** Staged files larger than this are never parsed in process nor given to a tool. */
export const DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024;

/** Recently read blob contents by id, shared by the watcher's pre-analysis and the checks. */
export class BlobMemory {
  private map = new Map<string, Buffer>();
  private bytes = 0;
  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}
  get(id: string): Buffer | undefined {
    return this.map.get(id);
  }
  set(id: string, b: Buffer): void {
    if (this.map.has(id) || b.length > this.maxBytes / 4) return;
    this.map.set(id, b);
    this.bytes += b.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.length;
    }
  }
}

export interface Snapshot {
  /** The snapshot directory; it exists once `ensureWritten()` resolved. */
  readonly root: string;
  files: SourceFile[];
  /** Files no analyzer is meant for (deleted, binary, unknown language, excluded). */
  skipped: Array<{ path: string; reason: string }>;
  /** Source files of the change that no analyzer will see (too large, unreadable, unsafe path). */
  notAnalyzed: Array<{ path: string; reason: string }>;
  /** Raw staged bytes by path, for splicing repairs and line-based suppressions. */
  contents: Map<string, string>;
  /** Writes every file under `root`, once; concurrent and later callers share the same promise. */
  ensureWritten(files?: SourceFile[]): Promise<void>;
  /** Removes the directory (after a write in progress has settled). */
  dispose(): Promise<void>;
}

export interface MaterializeOptions {
  memory?: BlobMemory;
  maxFileBytes?: number;
  /** Parent of the snapshot directory (default: the OS temp dir). */
  tmpRoot?: string;
}

/** A repo-relative path that cannot leave the snapshot: no absolute path, no `..` or empty segment. */
export function safeRelative(p: string): string | undefined {
  if (p.startsWith('/') || p.includes('\\') || p.includes('\0')) return undefined;
  const parts = p.split('/');
  if (parts.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return parts.join('/');
}

/** Object sizes by id in one `git cat-file --batch-check`, so oversized blobs are never read. */
async function blobSizes(repoRoot: string, ids: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (ids.length === 0) return out;
  const r = await git(repoRoot, ['cat-file', '--batch-check'], ids.join('\n') + '\n');
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const m = /^([0-9a-f]{40,64}) blob (\d+)$/.exec(line.trim());
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

export function describeWriteError(err: unknown, dir: string): Error {
  const e = err as NodeJS.ErrnoException;
  const why =
    e.code === 'ENOSPC' ? `no space left on the device holding ${dir}` : e.code === 'EDQUOT' ? `disk quota exceeded in ${dir}` : e.message;
  return new Error(`could not write the staged files for the analyzers: ${why}`);
}

/** Which changes are source files for the analyzers, which are not meant for them, which cannot be. */
function selectFiles(changes: FileChange[], exclude: string[]): { wanted: FileChange[]; skipped: Snapshot['skipped']; notAnalyzed: Snapshot['notAnalyzed'] } {
  const skipped: Snapshot['skipped'] = [];
  const notAnalyzed: Snapshot['notAnalyzed'] = [];
  const wanted: FileChange[] = [];
  for (const c of changes) {
    if (c.status === 'D') skipped.push({ path: c.path, reason: 'deleted' });
    else if (c.binary) skipped.push({ path: c.path, reason: 'binary' });
    else if (!languageOf(c.path)) skipped.push({ path: c.path, reason: 'no analyzer for this file type' });
    else if (isExcluded(c.path, exclude)) skipped.push({ path: c.path, reason: 'excluded by config' });
    else if (!safeRelative(c.path)) notAnalyzed.push({ path: c.path, reason: 'not analyzed: the path has an empty, "." or ".." segment' });
    else wanted.push(c);
  }
  return { wanted, skipped, notAnalyzed };
}

/** Writes every file under root exactly once (one shared promise) and removes what it created. */
function diskWriter(root: string, files: SourceFile[], raw: Map<string, Buffer>): Pick<Snapshot, 'ensureWritten' | 'dispose'> {
  let writing: Promise<void> | undefined;
  let disposed = false;
  let created = false;
  const writeAll = async () => {
    if (disposed) throw new Error('the snapshot was already removed');
    try {
      // mkdir (not recursive) fails if the name exists: nobody else's directory is ever reused.
      await mkdir(root, { mode: 0o700 });
      created = true;
      for (const f of files) {
        await mkdir(dirname(f.absPath), { recursive: true });
        // Raw bytes go to disk so tools see exactly what is staged, non-UTF-8 encodings included.
        await writeFile(f.absPath, raw.get(f.path)!);
      }
    } catch (err) {
      throw describeWriteError(err, dirname(root));
    }
  };
  return {
    ensureWritten() {
      writing ??= writeAll();
      return writing;
    },
    async dispose() {
      disposed = true;
      await writing?.catch(() => undefined);
      if (created) await rm(root, { recursive: true, force: true });
    },
  };
}

export async function materialize(
  repoRoot: string,
  changes: FileChange[],
  exclude: string[],
  memoryOrOptions?: BlobMemory | MaterializeOptions,
): Promise<Snapshot> {
  const opts: MaterializeOptions = memoryOrOptions instanceof BlobMemory ? { memory: memoryOrOptions } : (memoryOrOptions ?? {});
  const memory = opts.memory;
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const { wanted, skipped, notAnalyzed } = selectFiles(changes, exclude);
  const tooLarge = (path: string, size: number) =>
    notAnalyzed.push({ path, reason: `not analyzed: ${(size / 1048576).toFixed(1)} MiB is above the ${(maxBytes / 1048576).toFixed(1)} MiB limit (maxFileBytes)` });
  const unread = wanted.filter((c) => c.blob && c.content === undefined && !memory?.get(c.blob)).map((c) => c.blob!);
  const sizes = await blobSizes(repoRoot, unread);
  const blobs = await readBlobs(repoRoot, unread.filter((id) => (sizes.get(id) ?? 0) <= maxBytes), { maxBlobBytes: maxBytes });
  for (const [id, b] of blobs) memory?.set(id, b);

  const root = join(opts.tmpRoot ?? tmpdir(), `${SNAPSHOT_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  const files: SourceFile[] = [];
  const raw = new Map<string, Buffer>();
  const contents = new Map<string, string>();
  for (const c of wanted) {
    const size = c.content !== undefined ? Math.floor((c.content.length * 3) / 4) : c.blob ? (sizes.get(c.blob) ?? memory?.get(c.blob)?.length) : undefined;
    const bytes = size !== undefined && size > maxBytes ? undefined : c.content !== undefined ? Buffer.from(c.content, 'base64') : c.blob ? (memory?.get(c.blob) ?? blobs.get(c.blob)) : undefined;
    if (size !== undefined && size > maxBytes) tooLarge(c.path, size);
    else if (!bytes) notAnalyzed.push({ path: c.path, reason: 'not analyzed: its content was not found in the index' });
    else if (bytes.length > maxBytes) tooLarge(c.path, bytes.length);
    else if (looksBinary(bytes)) skipped.push({ path: c.path, reason: 'binary' });
    else {
      const content = bytes.toString('utf8');
      contents.set(c.path, content);
      raw.set(c.path, bytes);
      files.push({ path: c.path, absPath: join(root, safeRelative(c.path)!), language: languageOf(c.path)!, content, blob: c.blob ?? gitBlobId(bytes) });
    }
  }
  return { root, files, skipped, notAnalyzed, contents, ...diskWriter(root, files, raw) };
}

/** What runAnalyzers needs to know about a snapshot. */
export function snapshotTarget(s: Snapshot): { root: string; ensureWritten: () => Promise<void>; files: SourceFile[] } {
  return { root: s.root, ensureWritten: () => s.ensureWritten(), files: s.files };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed daemon stays a zombie until its new parent reaps it: it answers signals but is gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (macOS): trust the signal
  }
}

/**
 * Removes snapshot directories of this user whose daemon is gone (a `kill -9`, a power cut):
 * copies of staged code must not outlive the check that made them. Directories of live processes
 * (another daemon with another REFLEXGEN_HOME) are left alone.
 */
export async function cleanStaleSnapshots(dir = tmpdir(), prefixes: readonly string[] = [SNAPSHOT_PREFIX, 'reflexgen-verify-']): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const prefix = prefixes.find((p) => name.startsWith(p));
    if (!prefix) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (!pid || pid === process.pid || pidAlive(pid)) continue;
    const path = join(dir, name);
    try {
      const st = await lstat(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      /* gone already, or not ours to remove */
    }
  }
  return removed;
}
