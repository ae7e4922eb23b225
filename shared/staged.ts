import type { FileChange, LineRange } from './protocol.js';
import { git } from './git.js';

/*
 * The staged change, read from git's index only (never the working tree), so partial staging
 * with `git add -p` is respected. One plumbing call prints both the raw records (`--raw -z`:
 * statuses, modes, full blob ids) and a zero-context patch (the added line ranges); both walk the
 * same diff queue, so their entries line up one to one. The raw part ends with an empty record.
 */

const DIFF_OPTS = ['--cached', '-M', '--no-ext-diff', '--no-textconv', '--no-relative', '--ignore-submodules=all'];

export interface RawEntry {
  srcMode: string;
  dstMode: string;
  dstBlob: string;
  status: string;
  path: string;
  oldPath?: string;
}

export function parseRaw(buf: Buffer): RawEntry[] {
  const fields = buf.toString('utf8').split('\0');
  const entries: RawEntry[] = [];
  for (let i = 0; i < fields.length; ) {
    const head = fields[i++];
    if (!head || !head.startsWith(':')) continue;
    const [srcMode, dstMode, , dstBlob, statusScore] = head.slice(1).split(' ');
    const status = statusScore[0];
    if (status === 'R' || status === 'C') {
      const oldPath = fields[i++];
      const path = fields[i++];
      entries.push({ srcMode, dstMode, dstBlob, status, path, oldPath });
    } else {
      entries.push({ srcMode, dstMode, dstBlob, status, path: fields[i++] });
    }
  }
  return entries;
}

export interface PatchSection {
  binary: boolean;
  added: LineRange[];
}

const HUNK = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/**
 * Parses a `-U0` patch into one section per file with the new-side ranges that hold added lines.
 * Content lines are skipped by the hunk's own counts, so an added line that looks like a header
 * ("+++ x", "diff --git") cannot confuse it. Bytes are read as latin1: only ASCII headers matter.
 */
export function parsePatch(buf: Buffer): PatchSection[] {
  const lines = buf.toString('latin1').split('\n');
  const sections: PatchSection[] = [];
  let cur: PatchSection | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('diff --git ') || line.startsWith('diff --cc ')) {
      cur = { binary: false, added: [] };
      sections.push(cur);
      continue;
    }
    if (!cur) continue;
    if (line.startsWith('Binary files ') || line === 'GIT binary patch') {
      cur.binary = true;
      continue;
    }
    const m = HUNK.exec(line);
    if (!m) continue;
    const oldCount = m[1] === undefined ? 1 : Number(m[1]);
    const start = Number(m[2]);
    const newCount = m[3] === undefined ? 1 : Number(m[3]);
    if (newCount > 0) cur.added.push([start, start + newCount - 1]);
    // Skip the hunk body; "\ No newline at end of file" markers are extra lines.
    let remaining = oldCount + newCount;
    while (remaining > 0 && i + 1 < lines.length) {
      i++;
      if (!lines[i].startsWith('\\')) remaining--;
    }
    while (i + 1 < lines.length && lines[i + 1].startsWith('\\')) i++;
  }
  return sections;
}

const SKIP_MODES = new Set(['160000', '120000']); // submodules and symlinks have no analyzable content

export async function stagedChanges(repoRoot: string): Promise<FileChange[]> {
  const { stdout } = await git(repoRoot, ['diff', ...DIFF_OPTS, '--raw', '-p', '-z', '--no-abbrev', '-U0', '--no-color', '--src-prefix=a/', '--dst-prefix=b/']);
  const split = stdout.indexOf('\0\0');
  const entries = parseRaw(split < 0 ? stdout : stdout.subarray(0, split + 1));
  const sections = parsePatch(split < 0 ? Buffer.alloc(0) : stdout.subarray(split + 2));
  if (sections.length !== entries.length) {
    throw new Error(`git diff returned ${entries.length} files but ${sections.length} patch sections`);
  }
  const changes: FileChange[] = [];
  entries.forEach((e, idx) => {
    if (e.status === 'U' || e.status === 'X') return;
    const section = sections[idx];
    const status = e.status as FileChange['status'];
    if (status === 'D') {
      changes.push({ path: e.path, status, binary: false, addedLines: [] });
      return;
    }
    const skip = SKIP_MODES.has(e.dstMode);
    changes.push({
      path: e.path,
      ...(e.oldPath ? { oldPath: e.oldPath } : {}),
      status,
      blob: e.dstBlob,
      binary: section.binary || skip,
      addedLines: status === 'A' ? 'all' : section.added,
    });
  });
  return changes;
}
