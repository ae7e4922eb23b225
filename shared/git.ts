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

export interface ReadBlobsOptions {
  /** Blobs larger than this are left out of the map (their bytes stream past, never held). */
  maxBlobBytes?: number;
}

/**
 * Reads many blobs in one `git cat-file --batch` process. Missing ids (and blobs over
 * `maxBlobBytes`) are absent from the map. The output is parsed as it streams: each object's bytes
 * go straight into a buffer of its own size, so the daemon holds the blobs once, never a second
 * copy of the whole output.
 */
export function readBlobs(cwd: string, ids: string[], opts: ReadBlobsOptions = {}): Promise<Map<string, Buffer>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, Buffer>();
  if (unique.length === 0) return Promise.resolve(out);
  const max = opts.maxBlobBytes ?? Infinity;
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let next = 0; // index in unique of the object whose header comes next
    let header: Buffer[] = [];
    let headerBytes = 0;
    // The object being read: its buffer (undefined when skipped), bytes still to come, where to write.
    let body: { id: string; buf?: Buffer; left: number; at: number } | undefined;
    let trailer = false; // the newline after an object's content
    let broken: Error | undefined;
    child.stdout.on('data', (c: Buffer) => {
      let i = 0;
      while (i < c.length && !broken) {
        if (body) {
          const n = Math.min(body.left, c.length - i);
          if (body.buf) c.copy(body.buf, body.at, i, i + n);
          body.at += n;
          body.left -= n;
          i += n;
          if (body.left === 0) {
            if (body.buf) out.set(body.id, body.buf);
            body = undefined;
            trailer = true;
          }
          continue;
        }
        if (trailer) {
          trailer = false;
          i++;
          continue;
        }
        const nl = c.indexOf(0x0a, i);
        const end = nl < 0 ? c.length : nl;
        header.push(c.subarray(i, end));
        headerBytes += end - i;
        if (headerBytes > 4096) broken = new Error('git cat-file: unexpected output');
        if (nl < 0) break;
        i = nl + 1;
        const line = Buffer.concat(header).toString('utf8');
        header = [];
        headerBytes = 0;
        const id = unique[next++];
        const parts = line.split(' ');
        if (id === undefined) broken = new Error('git cat-file: more objects than asked for');
        else if (parts[1] === 'missing' || parts.length < 3) continue;
        else {
          const size = Number(parts[2]);
          if (!Number.isSafeInteger(size) || size < 0) broken = new Error('git cat-file: unexpected output');
          else body = { id, buf: size <= max ? Buffer.allocUnsafe(size) : undefined, left: size, at: 0 };
          if (body && body.left === 0) {
            if (body.buf) out.set(body.id, body.buf);
            body = undefined;
            trailer = true;
          }
        }
      }
      if (broken) child.kill('SIGKILL');
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (broken) return reject(broken);
      if (code !== 0) return reject(new Error(`git cat-file: ${stderr.trim() || `exit ${code}`}`));
      resolve(out);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(unique.join('\n') + '\n');
  });
}

/** Heuristic git itself uses: a NUL byte in the first 8000 bytes means binary. */
export function looksBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}
