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
  /** Bytes kept of each of stdout and stderr (default 32 MiB); the rest is dropped, never buffered. */
  maxOutputBytes?: number;
}

const DEFAULT_MAX_OUTPUT = 32 * 1024 * 1024;

// Process groups of tools still running, so they do not outlive the daemon (background runs included).
const live = new Set<number>();
let exitHook = false;
function track(pid: number): void {
  live.add(pid);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const p of live) {
      try {
        process.kill(-p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
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
    const cap = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    if (child.pid) track(child.pid);
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
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      if (stdout.length < cap) stdout += c.slice(0, cap - stdout.length);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      if (stderr.length < cap) stderr += c.slice(0, cap - stderr.length);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new ToolMissingError(`${cmd} is not installed (not on PATH)`) : err);
    });
    child.on('close', (code) => {
      if (child.pid) live.delete(child.pid);
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

export type BoundedResult = { result: RunResult; bounded?: undefined } | { bounded: true; result?: undefined; /** whether it goes on in the background */ background: boolean };

const MAX_BACKGROUND = 2;
let background = 0;

/**
 * Runs the expensive pass of a tool on one file (gcc -fanalyzer, clang --analyze) and waits at
 * most `boundMs`. Past the bound the caller reports the file as not analyzed; the run itself goes
 * on in the background (at most MAX_BACKGROUND at once, each up to `hardMs`, else it is killed)
 * and `onBackground` receives its result, so the next check of the same content can use it.
 * The caller's signal cancels the run only while the caller is still waiting for it.
 */
export async function runBounded(
  cmd: string,
  args: string[],
  opts: Omit<RunOptions, 'timeoutMs'> & { boundMs: number; hardMs: number; onBackground?: (r: RunResult) => void | Promise<void> },
): Promise<BoundedResult> {
  const local = new AbortController();
  const forward = () => local.abort();
  opts.signal?.addEventListener('abort', forward, { once: true });
  const run = runTool(cmd, args, { ...opts, timeoutMs: Math.max(opts.hardMs, opts.boundMs), signal: local.signal });
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'bound'>((res) => {
    timer = setTimeout(() => res('bound'), Math.max(0, opts.boundMs));
  });
  try {
    const first = await Promise.race([run, bound]);
    if (first !== 'bound') return { result: first };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', forward);
  }
  if (!opts.onBackground || background >= MAX_BACKGROUND) {
    local.abort();
    run.catch(() => undefined);
    return { bounded: true, background: false };
  }
  background++;
  run
    .then((r) => opts.onBackground?.(r))
    .catch(() => undefined)
    .finally(() => background--);
  return { bounded: true, background: true };
}

/** Results of runs that finished after their check gave up on them, by a key of tool, flags and content. */
export class LateResults<T> {
  private map = new Map<string, { at: number; value: T }>();
  constructor(
    private readonly max = 64,
    private readonly ttlMs = 30 * 60_000,
  ) {}
  get(key: string): T | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (Date.now() - e.at > this.ttlMs) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }
  set(key: string, value: T): void {
    this.map.delete(key);
    this.map.set(key, { at: Date.now(), value });
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}
