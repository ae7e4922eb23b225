import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { readBlobs, looksBinary } from '../../shared/git.js';
import { languageOf } from '../../shared/languages.js';
import type { FileChange } from '../../shared/protocol.js';
import type { SourceFile } from '../analyzers/types.js';
import { gitBlobId } from './cache.js';

/*
 * The staged versions of the changed files, written to a private temp directory at their
 * repo-relative paths. Analyzers only ever see this copy: never the working tree, which may hold
 * unstaged edits (partial staging) that are not part of the commit.
 */

export interface Snapshot {
  root: string;
  files: SourceFile[];
  /** Files left out, with the reason (binary, unknown language, deleted, excluded). */
  skipped: Array<{ path: string; reason: string }>;
  /** Raw staged bytes by path, for splicing repairs and line-based suppressions. */
  contents: Map<string, string>;
  dispose(): Promise<void>;
}

function safeRelative(p: string): string | undefined {
  const n = normalize(p);
  if (n.startsWith('..') || n.startsWith(sep) || n.includes(`${sep}..${sep}`)) return undefined;
  return n;
}

export function isExcluded(path: string, patterns: string[]): boolean {
  return patterns.some((pat) => {
    if (!/[*?]/.test(pat)) return path === pat || path.startsWith(pat.endsWith('/') ? pat : `${pat}/`);
    const re = new RegExp(
      '^' +
        pat
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*\/?/g, '\u0000')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]')
          .replace(/\u0000/g, '.*') +
        '$',
    );
    return re.test(path);
  });
}

export async function materialize(repoRoot: string, changes: FileChange[], exclude: string[]): Promise<Snapshot> {
  const root = await mkdtemp(join(tmpdir(), 'reflexgen-snap-'));
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
  const blobs = await readBlobs(repoRoot, wanted.filter((c) => c.blob && c.content === undefined).map((c) => c.blob!));
  const files: SourceFile[] = [];
  const contents = new Map<string, string>();
  for (const c of wanted) {
    const bytes = c.content !== undefined ? Buffer.from(c.content, 'base64') : c.blob ? blobs.get(c.blob) : undefined;
    if (!bytes) {
      skipped.push({ path: c.path, reason: 'content not found in the index' });
      continue;
    }
    if (looksBinary(bytes)) {
      skipped.push({ path: c.path, reason: 'binary' });
      continue;
    }
    const absPath = join(root, safeRelative(c.path)!);
    await mkdir(dirname(absPath), { recursive: true });
    // Raw bytes go to disk so tools see exactly what is staged, non-UTF-8 encodings included.
    await writeFile(absPath, bytes);
    const content = bytes.toString('utf8');
    contents.set(c.path, content);
    files.push({ path: c.path, absPath, language: languageOf(c.path)!, content, blob: c.blob ?? gitBlobId(bytes) });
  }
  return {
    root,
    files,
    skipped,
    contents,
    dispose: () => rm(root, { recursive: true, force: true }),
  };
}
