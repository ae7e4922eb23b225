import { execFile, spawn } from 'node:child_process';
import { UserError } from './errors.js';

/*
 * Git plumbing shared by the hook (reading what is staged) and the daemon (reading blobs).
 * Always plumbing with machine-readable output: users' diff/color/relative settings must not
 * change what we parse.
 */

export interface GitResult {
  stdout: Buffer;
  stderr: string;
}

export function git(cwd: string, args: string[], input?: Buffer | string): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      ['-c', 'core.quotepath=off', '-c', 'color.ui=false', ...args],
      { cwd, encoding: 'buffer', maxBuffer: 512 * 1024 * 1024, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } },
      (err, stdout, stderr) => {
        if (err) {
          const msg = stderr.toString('utf8').trim().split('\n')[0] || err.message;
          reject(Object.assign(new Error(`git ${args[0]}: ${msg}`), { gitStderr: stderr.toString('utf8') }));
        } else resolve({ stdout, stderr: stderr.toString('utf8') });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export interface RepoInfo {
  root: string;
  gitDir: string;
}

export async function repoInfo(cwd: string): Promise<RepoInfo> {
  try {
    const { stdout } = await git(cwd, ['rev-parse', '--show-toplevel', '--absolute-git-dir']);
    const [root, gitDir] = stdout.toString('utf8').trim().split('\n');
    if (!root || !gitDir) throw new Error('no work tree');
    return { root, gitDir };
  } catch {
    throw new UserError(`not inside a git work tree: ${cwd}`);
  }
}

export { hookRepoInfo } from './hook-repo.js';

/** Reads many blobs in one `git cat-file --batch` process. Missing ids are absent from the map. */
export function readBlobs(cwd: string, ids: string[]): Promise<Map<string, Buffer>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, Buffer>();
  if (unique.length === 0) return Promise.resolve(out);
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`git cat-file: ${stderr.trim() || `exit ${code}`}`));
      const buf = Buffer.concat(chunks);
      let pos = 0;
      for (const id of unique) {
        const nl = buf.indexOf(0x0a, pos);
        if (nl < 0) break;
        const header = buf.subarray(pos, nl).toString('utf8');
        pos = nl + 1;
        const parts = header.split(' ');
        if (parts[1] === 'missing' || parts.length < 3) continue;
        const size = Number(parts[2]);
        out.set(id, buf.subarray(pos, pos + size));
        pos += size + 1; // content is followed by a newline
      }
      resolve(out);
    });
    child.stdin.end(unique.join('\n') + '\n');
  });
}

/** Heuristic git itself uses: a NUL byte in the first 8000 bytes means binary. */
export function looksBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}
