import { spawn } from 'node:child_process';
import { ToolMissingError, ToolTimeoutError } from './types.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  input?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs an external analyzer. It gets its own process group so a timeout kills the tool and
 * everything it forked (gcc's cc1, python children), not just the wrapper.
 */
export function runTool(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      kill();
      reject(new ToolTimeoutError(`${cmd} did not finish within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    const onAbort = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      kill();
      reject(new Error(`${cmd} cancelled`));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new ToolMissingError(`${cmd} is not installed (not on PATH)`) : err);
    });
    child.on('close', (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** First line of `cmd --version`-style output, or undefined when the tool is missing. */
export async function probeVersion(cmd: string, args: string[], pick: RegExp): Promise<string | undefined> {
  try {
    const r = await runTool(cmd, args, { timeoutMs: 10_000 });
    const m = pick.exec(r.stdout + '\n' + r.stderr);
    return m ? m[1] : (r.stdout || r.stderr).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}
