import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from './errors.js';
import { git } from './git.js';

/*
 * Putting a verified repair into the index (and the working tree when that is safe), never losing
 * what the user had: before anything is written, the index entries and the working-tree files are
 * backed up under .git/reflexgen/backups/ (staged content also stays in git's object store), and
 * `reflexgen undo` puts them back. Suggested repairs are kept under .git/reflexgen/patches/.
 */

export interface RepairToApply {
  id: string;
  file: string;
  content: string;
  stagedBlob?: string;
  patch?: string;
}

interface BackupEntry {
  path: string;
  mode: string;
  blob: string;
  /** Working-tree copy saved in the backup dir, when the file existed. */
  worktreeCopy?: string;
  /** Blob id of what we wrote to the working tree, so undo never clobbers later edits. */
  wroteWorktree?: string;
  wroteIndex: string;
}

interface BackupManifest {
  id: string;
  createdAt: string;
  entries: BackupEntry[];
}

export interface ApplyResult {
  backupId: string;
  files: Array<{ path: string; worktree: boolean; note?: string }>;
}

function reflexgenDir(gitDir: string, sub: string): string {
  const d = join(gitDir, 'reflexgen', sub);
  mkdirSync(d, { recursive: true });
  return d;
}

async function indexEntry(repoRoot: string, path: string): Promise<{ mode: string; blob: string } | undefined> {
  const { stdout } = await git(repoRoot, ['ls-files', '-s', '-z', '--', path]);
  const rec = stdout.toString('utf8').split('\0')[0];
  const m = /^(\d{6}) ([0-9a-f]{40,64}) 0\t/.exec(rec ?? '');
  return m ? { mode: m[1], blob: m[2] } : undefined;
}

async function worktreeBlob(repoRoot: string, path: string): Promise<string | undefined> {
  if (!existsSync(join(repoRoot, path))) return undefined;
  const { stdout } = await git(repoRoot, ['hash-object', '--', path]);
  return stdout.toString('utf8').trim();
}

export async function applyRepairs(repoRoot: string, gitDir: string, repairs: RepairToApply[]): Promise<ApplyResult> {
  const id = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
  const dir = join(reflexgenDir(gitDir, 'backups'), id);
  mkdirSync(dir, { recursive: true });
  // Check everything first: nothing is written unless every repair still applies.
  const plans: Array<{ r: RepairToApply; entry: { mode: string; blob: string }; wt?: string }> = [];
  for (const r of repairs) {
    const entry = await indexEntry(repoRoot, r.file);
    if (!entry) throw new UserError(`${r.file} is no longer staged; the repair was not applied`);
    if (r.stagedBlob && entry.blob !== r.stagedBlob) throw new UserError(`${r.file} changed in the index since it was checked; the repair was not applied`);
    plans.push({ r, entry, wt: await worktreeBlob(repoRoot, r.file) });
  }
  const manifest: BackupManifest = { id, createdAt: new Date().toISOString(), entries: [] };
  for (const [i, p] of plans.entries()) {
    const e: BackupEntry = { path: p.r.file, mode: p.entry.mode, blob: p.entry.blob, wroteIndex: '' };
    if (p.wt !== undefined) {
      e.worktreeCopy = `worktree-${i}`;
      writeFileSync(join(dir, e.worktreeCopy), readFileSync(join(repoRoot, p.r.file)));
    }
    manifest.entries.push(e);
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

  const result: ApplyResult = { backupId: id, files: [] };
  for (const [i, p] of plans.entries()) {
    const { stdout } = await git(repoRoot, ['hash-object', '-w', '--no-filters', '--stdin'], p.r.content);
    const sha = stdout.toString('utf8').trim();
    await git(repoRoot, ['update-index', '--cacheinfo', `${p.entry.mode},${sha},${p.r.file}`]);
    manifest.entries[i].wroteIndex = sha;
    // The working tree gets the fix only when it held exactly the staged version; otherwise the
    // user's unstaged edits win and only the commit gets the fix.
    if (p.wt === p.entry.blob) {
      writeFileSync(join(repoRoot, p.r.file), p.r.content);
      manifest.entries[i].wroteWorktree = await worktreeBlob(repoRoot, p.r.file);
      result.files.push({ path: p.r.file, worktree: true });
    } else {
      result.files.push({ path: p.r.file, worktree: false, note: 'the working tree has unstaged edits: the fix went to the index only' });
    }
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return result;
}

export interface UndoResult {
  backupId: string;
  restored: string[];
  skipped: Array<{ path: string; reason: string }>;
}

/** Restores the most recent backup (or the named one): index entries and working-tree files. */
export async function undoLastApply(repoRoot: string, gitDir: string, backupId?: string): Promise<UndoResult> {
  const root = reflexgenDir(gitDir, 'backups');
  const ids = readdirSync(root).filter((d) => existsSync(join(root, d, 'manifest.json')) && !existsSync(join(root, d, 'undone'))).sort();
  const id = backupId ?? ids[ids.length - 1];
  if (!id || !existsSync(join(root, id, 'manifest.json'))) throw new UserError(backupId ? `no backup named ${backupId}` : 'nothing to undo: no repair was applied');
  const manifest = JSON.parse(readFileSync(join(root, id, 'manifest.json'), 'utf8')) as BackupManifest;
  const res: UndoResult = { backupId: id, restored: [], skipped: [] };
  for (const e of manifest.entries) {
    await git(repoRoot, ['update-index', '--add', '--cacheinfo', `${e.mode},${e.blob},${e.path}`]);
    if (e.worktreeCopy && e.wroteWorktree) {
      const now = await worktreeBlob(repoRoot, e.path);
      if (now !== e.wroteWorktree) {
        res.skipped.push({ path: e.path, reason: 'edited since the repair was applied; its working-tree file was left as it is' });
      } else {
        mkdirSync(dirname(join(repoRoot, e.path)), { recursive: true });
        writeFileSync(join(repoRoot, e.path), readFileSync(join(root, id, e.worktreeCopy)));
      }
    }
    res.restored.push(e.path);
  }
  writeFileSync(join(root, id, 'undone'), new Date().toISOString() + '\n');
  return res;
}

// ---- suggested patches ------------------------------------------------------------------------

export function savePatch(gitDir: string, r: RepairToApply & { patch: string }): string {
  const dir = reflexgenDir(gitDir, 'patches');
  writeFileSync(join(dir, `${r.id}.json`), JSON.stringify({ ...r, savedAt: new Date().toISOString() }, null, 2) + '\n');
  writeFileSync(join(dir, `${r.id}.patch`), r.patch);
  return join(dir, `${r.id}.patch`);
}

export function loadPatch(gitDir: string, id?: string): RepairToApply & { patch: string } {
  const dir = reflexgenDir(gitDir, 'patches');
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as RepairToApply & { patch: string; savedAt: string })
    .sort((a, b) => a.savedAt.localeCompare(b.savedAt));
  const p = id ? all.find((x) => x.id === id) : all[all.length - 1];
  if (!p) throw new UserError(id ? `no saved repair named ${id} (see .git/reflexgen/patches/)` : 'no saved repair to apply');
  return p;
}
