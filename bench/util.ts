import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectDaemon, DaemonUnavailableError, type DaemonClient } from '../hook/client.js';
import type { StatusResult } from '../shared/protocol.js';

/*
 * Shared plumbing for `npm run bench`: statistics, timed child processes, throw-away repositories
 * and a daemon per measurement (its own REFLEXGEN_HOME), polled in-process so that CLI start-up
 * never pollutes a number that is not about CLI start-up.
 */

/** dist/bench -> package root; the bench only ever runs from the build. */
export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
export const HOOK = join(ROOT, 'dist', 'hook', 'hook.cjs');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- statistics --------------------------------------------------------------------------------

export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  // Nearest-rank: with small n it reports a value that was actually observed.
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

export function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const median = n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { n, median, p90: quantile(s, 0.9), min: s[0] ?? NaN, max: s[n - 1] ?? NaN };
}

// ---- results -----------------------------------------------------------------------------------

export interface Row extends Partial<Summary> {
  section: string;
  name: string;
  unit: string;
  /** Single-valued rows (ratios, memory snapshots) carry value instead of a distribution. */
  value?: number;
  note?: string;
}

export class Results {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  readonly samples: Record<string, number[]> = {};

  dist(section: string, name: string, unit: string, samples: number[], note?: string): Summary {
    const s = summarize(samples);
    this.rows.push({ section, name, unit, ...s, ...(note ? { note } : {}) });
    this.samples[`${section} / ${name}`] = samples.map((x) => Math.round(x * 100) / 100);
    return s;
  }

  value(section: string, name: string, unit: string, value: number, note?: string): void {
    this.rows.push({ section, name, unit, value, ...(note ? { note } : {}) });
  }

  note(text: string): void {
    this.notes.push(text);
  }
}

function fmt(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function formatTable(rows: Row[]): string {
  const head = ['section', 'measurement', 'n', 'median', 'p90', 'min', 'max', 'unit'];
  const body = rows.map((r) =>
    r.value !== undefined
      ? [r.section, r.name + (r.note ? ` (${r.note})` : ''), '', fmt(r.value), '', '', '', r.unit]
      : [r.section, r.name + (r.note ? ` (${r.note})` : ''), String(r.n ?? ''), fmt(r.median), fmt(r.p90), fmt(r.min), fmt(r.max), r.unit],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const numeric = new Set([2, 3, 4, 5, 6]);
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

// ---- processes ---------------------------------------------------------------------------------

export interface Timed {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
}

export function timed(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Timed {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  return { ms, code: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

export function mustSucceed(r: Timed, what: string): Timed {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  return r;
}

export function envFor(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A developer's own settings must not leak into the numbers.
  for (const k of Object.keys(env)) if (k.startsWith('REFLEXGEN_')) delete env[k];
  delete env.FORCE_COLOR;
  // With CI set, `reflexgen check` runs in process; the bench measures the daemon path.
  delete env.CI;
  return { ...env, REFLEXGEN_HOME: home, NO_COLOR: '1', ...extra };
}

// ---- a daemon per measurement ------------------------------------------------------------------

/** Things that happened during the run which make some numbers suspect; printed with the table. */
export const incidents: string[] = [];

export class BenchHome {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  private client?: DaemonClient;
  private readonly repos: BenchRepo[] = [];

  constructor(extra: NodeJS.ProcessEnv = {}) {
    // Short path: the daemon's Unix socket lives here and sun_path is small.
    this.dir = mkdtempSync(join(tmpdir(), 'rxb-'));
    // A pinned build id: someone rebuilding dist/ during the run would otherwise make the next hook
    // retire this daemon (other build) in the middle of a measurement.
    this.env = envFor(this.dir, { REFLEXGEN_BUILD_ID: `bench-${process.pid}`, ...extra });
  }

  cli(args: string[], cwd?: string): Timed {
    return timed(process.execPath, [CLI, ...args], { cwd, env: this.env });
  }

  async start(): Promise<void> {
    mustSucceed(this.cli(['daemon', 'start']), 'reflexgen daemon start');
    // One long-lived connection for polling: status over the CLI would cost a Node start-up each time.
    this.client = await connectDaemon({ env: this.env, client: 'cli', start: false });
  }

  repo(): BenchRepo {
    const r = new BenchRepo(this);
    this.repos.push(r);
    return r;
  }

  async request<T = unknown>(method: string, params?: unknown): Promise<T> {
    if (!this.client) throw new Error('daemon not started');
    try {
      return await this.client.request<T>(method, params);
    } catch (err) {
      if (!(err instanceof DaemonUnavailableError)) throw err;
      // The daemon went away under us (killed, or replaced by a client): say so, then carry on with
      // whichever daemon answers now, since the disk cache survives a restart.
      incidents.push(`daemon in ${this.dir} went away during a measurement (${err.message}); reconnected`);
      this.client = await connectDaemon({ env: this.env, client: 'cli', start: false });
      return this.client.request<T>(method, params);
    }
  }

  status(): Promise<StatusResult> {
    return this.request<StatusResult>('status');
  }

  /**
   * Waits for the watcher to pick up an index change made after `before` and finish with it:
   * at least one more event, nothing queued or running, and (when asked) new analyzer runs, i.e.
   * the blob is in the cache.
   */
  async settled(before: StatusResult, opts: { needRuns?: boolean; timeoutMs?: number; pollMs?: number } = {}): Promise<StatusResult> {
    const deadline = performance.now() + (opts.timeoutMs ?? 120_000);
    for (;;) {
      const s = await this.status();
      const w = s.watcher;
      const c = s.cache;
      if (w && w.events > (before.watcher?.events ?? 0) && w.queued === 0 && !w.running) {
        if (!opts.needRuns || (c?.analyzerRuns ?? 0) > (before.cache?.analyzerRuns ?? 0)) return s;
      }
      if (performance.now() > deadline) throw new Error(`watcher did not settle: ${JSON.stringify(w)} cache ${JSON.stringify(c)}`);
      await sleep(opts.pollMs ?? 10);
    }
  }

  /** Waits until no background job is pending, whether or not anything changed (after the debounce). */
  async quiet(debounceMs = 150): Promise<void> {
    await sleep(debounceMs + 60);
    for (let i = 0; i < 6000; i++) {
      const w = (await this.status()).watcher;
      if (!w || (w.queued === 0 && !w.running)) return;
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    this.client?.close();
    this.client = undefined;
    this.cli(['daemon', 'stop']);
    for (const r of this.repos) r.remove();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class BenchRepo {
  readonly dir: string;

  constructor(readonly home: BenchHome) {
    this.dir = mkdtempSync(join(tmpdir(), 'rxbr-'));
    this.git(['init', '-q', '-b', 'main']);
    this.git(['config', 'user.email', 'bench@example.com']);
    this.git(['config', 'user.name', 'Bench']);
    this.git(['config', 'commit.gpgsign', 'false']);
  }

  git(args: string[]): Timed {
    return mustSucceed(timed('git', args, { cwd: this.dir, env: this.home.env }), `git ${args.join(' ')}`);
  }

  /** Installs the hook and registers the repo with the (running) daemon, as a user would. */
  init(): void {
    mustSucceed(this.home.cli(['init'], this.dir), 'reflexgen init');
  }

  write(path: string, content: string): void {
    const abs = join(this.dir, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }

  add(...paths: string[]): Timed {
    return this.git(['add', '--', ...paths]);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- generated sources -------------------------------------------------------------------------

/** A clean Python module of about 60 lines; `tag` makes a new blob without changing findings. */
export function pythonSource(tag: string | number): string {
  let out = `# module ${tag}\nimport sqlite3\nimport subprocess\n\n\n`;
  for (let i = 0; i < 6; i++) {
    out += `def lookup_${i}(db_path, user_id):
    conn = sqlite3.connect(db_path)
    try:
        cur = conn.cursor()
        cur.execute("SELECT name FROM users WHERE id = ?", (user_id,))
        row = cur.fetchone()
        return row[0] if row else None
    finally:
        conn.close()


`;
  }
  out += `def list_dir(path):\n    return subprocess.run(["ls", "-l", path], check=False, capture_output=True).stdout\n`;
  return out;
}

/** A clean C file of about 50 lines; `tag` makes a new blob without changing findings. */
export function cSource(tag: string | number): string {
  let out = `/* unit ${tag} */\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n`;
  for (let i = 0; i < 4; i++) {
    out += `int sum_${i}(const int *arr, size_t n) {
    int total = 0;
    for (size_t k = 0; k < n; k++) total += arr[k];
    return total;
}

char *copy_${i}(const char *src) {
    size_t len = strlen(src);
    char *dst = malloc(len + 1);
    if (dst == NULL) return NULL;
    memcpy(dst, src, len + 1);
    return dst;
}

`;
  }
  out += `int main(void) {\n    int a[3] = {1, 2, 3};\n    char *s = copy_0("x");\n    if (s) { printf("%s %d\\n", s, sum_0(a, 3)); free(s); }\n    return 0;\n}\n`;
  return out;
}
