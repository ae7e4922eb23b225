import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { readBlobs, looksBinary } from '../../shared/git.js';
import { languageOf } from '../../shared/languages.js';
import type { FileChange } from '../../shared/protocol.js';
import type { SourceFile } from '../analyzers/types.js';
import { gitBlobId } from './cache.js';
import { isExcluded } from '../../shared/ignore-rules.js';
export { isExcluded };

/*
 * The staged versions of the changed files, written to a private temp directory at their
 * repo-relative paths. Analyzers only ever see this copy: never the working tree, which may hold
 * unstaged edits (partial staging) that are not part of the commit. Files are written only when
 * an analyzer actually has to run: a check answered from the result cache touches no disk, and
 * blobs the watcher read moments earlier come from memory instead of another git process.
 */

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
  root: string;
  files: SourceFile[];
  /** Files left out, with the reason (binary, unknown language, deleted, excluded). */
  skipped: Array<{ path: string; reason: string }>;
  /** Raw staged bytes by path, for splicing repairs and line-based suppressions. */
  contents: Map<string, string>;
  /** Writes these files (all when omitted) under `root` if they are not there yet. */
  ensureWritten(files?: SourceFile[]): Promise<void>;
  dispose(): Promise<void>;
}

function safeRelative(p: string): string | undefined {
  const n = normalize(p);
  if (n.startsWith('..') || n.startsWith(sep) || n.includes(`${sep}..${sep}`)) return undefined;
  return n;
}

export async function materialize(repoRoot: string, changes: FileChange[], exclude: string[], memory?: BlobMemory): Promise<Snapshot> {
  const skipped: Snapshot['skipped'] = [];
  const wanted: FileChange[] = [];
  for (const c of changes) {
    if (c.status === 'D') skipped.push({ path: c.path, reason: 'deleted' });
    else if (c.binary) skipped.push({ path: c.path, reason: 'binary' });
    else if (!languageOf(c.path)) skipped.push({ path: c.path, reason: 'no analyzer for this file type' });
    else if (isExcluded(c.path, exclude)) skipped.push({ path: c.path, reason: 'excluded by config' });
    else if (!safeRelative(c.path)) skipped.push({ path: c.path, reason: 'unsafe path' });
    else wanted.push(c);
  }
  const needed = wanted.filter((c) => c.blob && c.content === undefined && !memory?.get(c.blob)).map((c) => c.blob!);
  const blobs = await readBlobs(repoRoot, needed);
  for (const [id, b] of blobs) memory?.set(id, b);
  let root: string | undefined;
  const rootDir = async () => (root ??= await mkdtemp(join(tmpdir(), 'reflexgen-snap-')));
  const files: SourceFile[] = [];
  const raw = new Map<string, Buffer>();
  const written = new Set<string>();
  const contents = new Map<string, string>();
  // absPath is only known once the directory exists; it is created lazily with the first write.
  const placeholder = join(tmpdir(), 'reflexgen-snap-pending');
  for (const c of wanted) {
    const bytes = c.content !== undefined ? Buffer.from(c.content, 'base64') : c.blob ? (memory?.get(c.blob) ?? blobs.get(c.blob)) : undefined;
    if (!bytes) {
      skipped.push({ path: c.path, reason: 'content not found in the index' });
      continue;
    }
    if (looksBinary(bytes)) {
      skipped.push({ path: c.path, reason: 'binary' });
      continue;
    }
    const content = bytes.toString('utf8');
    contents.set(c.path, content);
    raw.set(c.path, bytes);
    files.push({ path: c.path, absPath: join(placeholder, safeRelative(c.path)!), language: languageOf(c.path)!, content, blob: c.blob ?? gitBlobId(bytes) });
  }
  const snapshot: Snapshot = {
    get root() {
      return root ?? placeholder;
    },
    files,
    skipped,
    contents,
    async ensureWritten(subset = files) {
      const dir = await rootDir();
      for (const f of subset) {
        if (written.has(f.path)) continue;
        f.absPath = join(dir, safeRelative(f.path)!);
        await mkdir(dirname(f.absPath), { recursive: true });
        // Raw bytes go to disk so tools see exactly what is staged, non-UTF-8 encodings included.
        await writeFile(f.absPath, raw.get(f.path)!);
        written.add(f.path);
      }
    },
    dispose: async () => {
      if (root) await rm(root, { recursive: true, force: true });
    },
  };
  return snapshot;
}

/** What runAnalyzers needs to know about a lazily written snapshot. */
export function snapshotTarget(s: Snapshot): { root: string; rootOf: () => string; ensureWritten: (f: SourceFile[]) => Promise<void>; files: SourceFile[] } {
  return { root: s.root, rootOf: () => s.root, ensureWritten: (f) => s.ensureWritten(f), files: s.files };
}
