import type { FileChange, LineRange } from './protocol.js';
import { spawn } from 'node:child_process';

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
/** Header lines are short; past this a line is kept only as its start (all that is matched). */
const MAX_HEADER_LINE = 16 * 1024;

/**
 * Reads a `-U0` patch chunk by chunk into one section per file with the new-side ranges that hold
 * added lines. Only header lines are ever held (cut at MAX_HEADER_LINE); content lines are skipped
 * by the hunk's own counts as they stream past, so a 50 MB staged file costs no more memory than
 * a small one, and an added line that looks like a header ("+++ x", "diff --git") cannot confuse
 * it. Bytes are read as latin1: only ASCII headers matter.
 */
export class PatchReader {
  readonly sections: PatchSection[] = [];
  private cur: PatchSection | undefined;
  /** Content lines of the current hunk still to skip. */
  private remaining = 0;
  /** Within a line: skipping it (content, or a "\ No newline" marker) or collecting a header. */
  private mode: 'start' | 'skip' | 'header' = 'start';
  private header: Buffer[] = [];
  private headerBytes = 0;

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.mode === 'start') {
        const first = chunk[i];
        // "\ No newline at end of file" belongs to the hunk before it and is not counted.
        if (first === 0x5c) this.mode = 'skip';
        else if (this.remaining > 0) {
          this.remaining--;
          this.mode = 'skip';
        } else this.mode = 'header';
      }
      const nl = chunk.indexOf(0x0a, i);
      const end = nl < 0 ? chunk.length : nl;
      if (this.mode === 'header' && this.headerBytes < MAX_HEADER_LINE) {
        const part = chunk.subarray(i, Math.min(end, i + MAX_HEADER_LINE - this.headerBytes));
        this.header.push(Buffer.from(part)); // a copy: the chunk itself must not stay referenced
        this.headerBytes += part.length;
      }
      if (nl < 0) return;
      if (this.mode === 'header') this.headerLine(Buffer.concat(this.header).toString('latin1'));
      this.header = [];
      this.headerBytes = 0;
      this.mode = 'start';
      i = nl + 1;
    }
  }

  /** The sections, once the whole patch was pushed (a last line without a newline included). */
  end(): PatchSection[] {
    if (this.mode === 'header') this.headerLine(Buffer.concat(this.header).toString('latin1'));
    this.header = [];
    this.mode = 'start';
    return this.sections;
  }

  private headerLine(line: string): void {
    if (line.startsWith('diff --git ') || line.startsWith('diff --cc ')) {
      this.cur = { binary: false, added: [] };
      this.sections.push(this.cur);
      return;
    }
    if (!this.cur) return;
    if (line.startsWith('Binary files ') || line === 'GIT binary patch') {
      this.cur.binary = true;
      return;
    }
    const m = HUNK.exec(line);
    if (!m) return;
    const oldCount = m[1] === undefined ? 1 : Number(m[1]);
    const start = Number(m[2]);
    const newCount = m[3] === undefined ? 1 : Number(m[3]);
    if (newCount > 0) this.cur.added.push([start, start + newCount - 1]);
    this.remaining = oldCount + newCount;
  }
}

/** Parses a whole `-U0` patch held in memory (see PatchReader). */
export function parsePatch(buf: Buffer): PatchSection[] {
  const r = new PatchReader();
  r.push(buf);
  return r.end();
}

const SKIP_MODES = new Set(['160000', '120000']); // submodules and symlinks have no analyzable content

/** The raw records of one diff are small per file; a staged tree past this many bytes of them is refused. */
const MAX_RAW_BYTES = 256 * 1024 * 1024;

/**
 * Runs the diff and reads its output as it streams: the raw records are kept, the patch goes
 * through a PatchReader, so a huge staged file is never held in memory.
 */
function readStagedDiff(repoRoot: string): Promise<{ entries: RawEntry[]; sections: PatchSection[] }> {
  const args = ['-c', 'core.quotepath=off', '-c', 'color.ui=false', 'diff', ...DIFF_OPTS, '--raw', '-p', '-z', '--no-abbrev', '-U0', '--no-color', '--src-prefix=a/', '--dst-prefix=b/'];
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } });
    const raw: Buffer[] = [];
    let rawBytes = 0;
    let patch: PatchReader | undefined;
    let stderr = '';
    let failed: Error | undefined;
    const fail = (err: Error) => {
      failed ??= err;
      child.kill('SIGKILL');
    };
    let lastWasNul = false;
    const startPatch = (rest: Buffer) => {
      patch = new PatchReader();
      patch.push(rest);
    };
    child.stdout.on('data', (c: Buffer) => {
      if (failed || c.length === 0) return;
      if (patch) return patch.push(c);
      // The raw part ends with an empty record: the first "\0\0" (no record holds one), which
      // may straddle two chunks.
      if (lastWasNul && c[0] === 0) return startPatch(c.subarray(1));
      const at = c.indexOf('\0\0');
      if (at >= 0) {
        raw.push(c.subarray(0, at + 1));
        return startPatch(c.subarray(at + 2));
      }
      raw.push(c);
      lastWasNul = c[c.length - 1] === 0;
      rawBytes += c.length;
      if (rawBytes > MAX_RAW_BYTES) fail(new Error(`git diff: more than ${MAX_RAW_BYTES >> 20} MiB of file records`));
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (failed) return reject(failed);
      if (code !== 0) return reject(new Error(`git diff: ${stderr.trim().split('\n')[0] || `exit ${code}`}`));
      resolve({ entries: parseRaw(Buffer.concat(raw)), sections: patch ? patch.end() : [] });
    });
  });
}

export async function stagedChanges(repoRoot: string): Promise<FileChange[]> {
  const { entries, sections } = await readStagedDiff(repoRoot);
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
