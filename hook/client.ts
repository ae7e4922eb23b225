import { existsSync, openSync, closeSync, fstatSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { assertPrivateDir, daemonPaths, ensurePrivateDir, packageRoot, UnsafePathError, verifySocket, type DaemonPaths } from '../shared/paths.js';
import { DEFAULT_SILENCE_TIMEOUT_MS, ErrorCodes, TOKEN_HEADER } from '../shared/protocol-constants.js';
import type { HelloResult, ProgressParams } from '../shared/protocol.js';
import * as validate from '../shared/protocol-validators.js';
import type { GeneratedValidator } from '../shared/protocol-validators.js';
import { RpcError } from '../shared/rpc.js';
import { connectWs, HandshakeError, MessageTooLargeError, type CloseInfo, type WsLite } from './ws-client.js';
import { readToken } from '../shared/token.js';
import { PROTOCOL_VERSION, buildVersion } from '../shared/version.js';
import { cleanLine } from '../shared/terminal-text.js';

/*
 * The client side of the daemon protocol, used by the git hook and every CLI command that needs
 * the daemon. Kept free of heavy imports: it runs on every commit. Messages are checked with
 * validators generated at build time from the same zod schemas the daemon uses.
 */

export type ProgressHandler = (p: ProgressParams) => void;

export class DaemonUnavailableError extends Error {
  override name = 'DaemonUnavailableError';
}

/** Text from the daemon or its files, made safe for one terminal line. */
function printable(s: string, max = 300): string {
  const clean = cleanLine(s).trim();
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/** REFLEXGEN_SILENCE_TIMEOUT_MS, else the default; how long a request may go without any message. */
export function silenceTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.REFLEXGEN_SILENCE_TIMEOUT_MS);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_SILENCE_TIMEOUT_MS;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onProgress?: ProgressHandler;
  check?: GeneratedValidator;
  method: string;
}

function invalid(what: string, v: GeneratedValidator): Error {
  const e = v.errors?.[0];
  return new DaemonUnavailableError(`the daemon sent an invalid ${what}${e ? ` (${e.instancePath || '/'} ${e.message ?? ''})` : ''}`);
}

/** `{ result?: CheckResult }`: a miss is an empty object. */
const verdictResult: GeneratedValidator = (data: unknown) => {
  verdictResult.errors = null;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    verdictResult.errors = [{ instancePath: '', message: 'must be object' }];
    return false;
  }
  const r = (data as { result?: unknown }).result;
  if (r === undefined || validate.CheckResult(r)) return true;
  verdictResult.errors = (validate.CheckResult.errors ?? []).map((e) => ({ ...e, instancePath: `/result${e.instancePath}` }));
  return false;
};

/** Result validators for the requests whose answers the hook acts on. */
const RESULT_VALIDATORS: Record<string, GeneratedValidator> = { hello: validate.HelloResult, check: validate.CheckResult, verdict: verdictResult };

/** A request sent behind `hello` without waiting for its answer. */
export interface Pipelined {
  method: string;
  params: unknown;
}

export class DaemonClient {
  /** The answer to the request sent behind `hello`, when one was. */
  pipelined?: Promise<unknown>;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private silenceTimer?: NodeJS.Timeout;
  hello?: HelloResult;

  constructor(
    private readonly ws: WsLite,
    private readonly silenceMs = silenceTimeoutMs(),
  ) {
    ws.onMessage((text) => this.onMessage(text));
    ws.onClose((info) => this.failAll(closeMessage(info)));
  }

  private failAll(message: string): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
    for (const p of this.pending.values()) p.reject(new DaemonUnavailableError(message));
    this.pending.clear();
  }

  /*
   * While an answer is owed, any message (the daemon sends a heartbeat every second while it
   * works) restarts the clock; silence for silenceMs means the daemon is stopped (SIGSTOP), wedged
   * in synchronous work, or gone without closing the socket, and the request fails so that
   * failMode, not the daemon, decides the commit.
   */
  private armSilence(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
    if (this.pending.size === 0) return;
    this.silenceTimer = setTimeout(() => {
      const who = this.hello?.pid ? ` (pid ${this.hello.pid})` : '';
      this.failAll(`the daemon${who} sent nothing for ${(this.silenceMs / 1000).toFixed(1)} s: it is stopped or stuck`);
      this.ws.close();
    }, this.silenceMs);
  }

  private onMessage(text: string): void {
    this.armSilence();
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (!validate.ServerMessage(msg)) return;
    const m = msg as { id?: number | string | null; method?: string; params?: unknown; result?: unknown; error?: { code: number; message: string } };
    // A heartbeat only says the daemon is alive; armSilence above has counted it.
    if (m.method === 'heartbeat') return;
    if (m.method === 'progress') {
      if (validate.ProgressParams(m.params)) {
        const p = m.params as ProgressParams;
        this.pending.get(Number(p.requestId))?.onProgress?.(p);
      }
      return;
    }
    if (m.id === undefined || m.id === null) return;
    const waiter = this.pending.get(Number(m.id));
    if (!waiter) return;
    this.pending.delete(Number(m.id));
    this.armSilence();
    if (m.error) waiter.reject(new RpcError(m.error.code, m.error.message));
    else if (waiter.check && !waiter.check(m.result)) waiter.reject(invalid(`${waiter.method} result`, waiter.check));
    else waiter.resolve(m.result);
  }

  request<R = unknown>(method: string, params?: unknown, onProgress?: ProgressHandler): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress, check: RESULT_VALIDATORS[method], method });
      try {
        this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      } catch (err) {
        this.pending.delete(id);
        const why = err instanceof MessageTooLargeError ? err.message : `could not send to the daemon: ${(err as Error).message}`;
        reject(new DaemonUnavailableError(why));
        return;
      }
      this.armSilence();
    });
  }

  close(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
    this.ws.close();
  }
}

function closeMessage(info: CloseInfo): string {
  if (info.code === 1009) return `the daemon refused a message over its size limit${info.reason ? ` (${printable(info.reason)})` : ''}`;
  if (info.code === undefined || info.code === 1000 || info.code === 1001) return 'the daemon closed the connection';
  return `the daemon closed the connection (${info.code}${info.reason ? `: ${printable(info.reason)}` : ''})`;
}

function connectOnce(paths: DaemonPaths, token: string): Promise<WsLite> {
  return connectWs(paths.socket, { [TOKEN_HEADER]: token });
}

/**
 * The trust checks, before anything (the token above all) goes to the socket: the state dir
 * holding the token and the socket's dir are real directories of this user with mode 0700, the
 * socket is this user's and private, the token file is this user's regular file with mode 0600.
 * Another local user who pre-created the socket's directory (or made it reachable) gets nothing.
 * Returns the token, undefined when there is no daemon to talk to, or throws UnsafePathError.
 */
function trustedToken(paths: DaemonPaths): string | undefined {
  if (!existsSync(paths.state)) return undefined;
  assertPrivateDir(paths.state);
  if (!verifySocket(paths)) return undefined;
  return readToken(paths.token);
}

async function connectAndHello(paths: DaemonPaths, client: string, pipeline?: Pipelined): Promise<DaemonClient | undefined> {
  const token = trustedToken(paths);
  if (!token) return undefined;
  let ws: WsLite;
  try {
    ws = await connectOnce(paths, token);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT') return undefined;
    // 426: a daemon on its way out, no longer taking WebSocket upgrades. Nobody answers there any
    // more: start a new one, as for a stale socket, instead of reporting the check as unable to run.
    if (err instanceof HandshakeError && err.status === 426) return undefined;
    throw new DaemonUnavailableError(err instanceof HandshakeError ? err.message : (err as Error).message);
  }
  const c = new DaemonClient(ws);
  const hello = c.request<HelloResult>('hello', { protocolVersion: PROTOCOL_VERSION, clientVersion: buildVersion(), client });
  if (pipeline) {
    // Sent right behind hello, which the daemon answers synchronously first: one round trip fewer.
    c.pipelined = c.request(pipeline.method, pipeline.params);
    c.pipelined.catch(() => undefined);
  }
  try {
    c.hello = await hello;
  } catch (err) {
    if (err instanceof RpcError && err.code === ErrorCodes.VersionMismatch) {
      c.hello = { protocolVersion: -1, daemonVersion: 'incompatible', pid: 0, startedAt: '' };
      return c;
    }
    c.close();
    throw err;
  }
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a daemon that runs other code, and waits until its socket is gone. */
async function retire(c: DaemonClient, paths: DaemonPaths): Promise<void> {
  let pid = c.hello?.pid;
  if (!pid) {
    try {
      pid = Number(readFileSync(paths.pid, 'utf8').trim()) || undefined;
    } catch {
      /* no pid file */
    }
  }
  await c.request('shutdown').catch(() => undefined);
  c.close();
  for (let i = 0; i < 100 && existsSync(paths.socket); i++) await sleep(50);
  if (pid && pidAlive(pid)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}

/*
 * The variables with which git points its commands at one repository (`git rev-parse
 * --local-env-vars`): a hook runs with them set, and a daemon started from that hook would apply
 * one commit's index (`.git/index.lock` of a `commit -a`) to every repository it serves later.
 */
const GIT_LOCAL_ENV = /^GIT_(ALTERNATE_OBJECT_DIRECTORIES|CONFIG|CONFIG_PARAMETERS|CONFIG_COUNT|CONFIG_KEY_\d+|CONFIG_VALUE_\d+|OBJECT_DIRECTORY|DIR|WORK_TREE|IMPLICIT_WORK_TREE|GRAFT_FILE|INDEX_FILE|NO_REPLACE_OBJECTS|REPLACE_REF_BASE|PREFIX|INTERNAL_SUPER_PREFIX|SHALLOW_FILE|COMMON_DIR)$/;

export function daemonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !GIT_LOCAL_ENV.test(k)));
}

function daemonEntry(): string {
  return join(packageRoot(), 'dist', 'daemon', 'main.js');
}

/** The last line of a file in the state dir, read from its end only (a log may be large). */
function lastLine(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const { size } = fstatSync(fd);
    const len = Math.min(size, 8192);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').trim().split('\n');
    return lines[lines.length - 1] ?? '';
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function logTail(paths: DaemonPaths): string {
  const last = lastLine(paths.log);
  try {
    const entry = JSON.parse(last) as { msg?: string; err?: { message?: string } };
    return printable([entry.msg, entry.err?.message].filter(Boolean).join(': ') || last);
  } catch {
    return printable(last);
  }
}

/** Start-up attempts fail quietly while the daemon comes up; a trust failure never does. */
const unlessUnsafe = (err: unknown): undefined => {
  if (err instanceof UnsafePathError) throw err;
  return undefined;
};

/**
 * Spawns the daemon detached and waits until it answers. Caller holds the start lock.
 * Besides its stderr file the daemon gets a pipe on fd 3 (REFLEXGEN_START_FD) on which it writes
 * why it could not start, and which it closes once it listens: on a full disk neither its log
 * nor its stderr file can hold that reason, the pipe can.
 */
async function spawnDaemon(paths: DaemonPaths, client: string, timeoutMs: number): Promise<DaemonClient> {
  ensurePrivateDir(paths.state);
  // Only starting a daemon spawns anything: the hook's cached answer does not load child_process.
  const { spawn } = await import('node:child_process');
  let errFd: number | 'ignore' = 'ignore';
  try {
    errFd = openSync(join(paths.state, 'daemon.stderr'), 'a', 0o600);
  } catch {
    /* a full disk may not even take the file; the start pipe still carries the reason */
  }
  // --expose-gc: the daemon collects right after a huge request instead of holding its memory.
  const child = spawn(process.execPath, ['--expose-gc', daemonEntry()], {
    detached: true,
    stdio: ['ignore', 'ignore', errFd, 'pipe'],
    env: { ...daemonEnv(process.env), REFLEXGEN_START_FD: '3' },
  });
  if (typeof errFd === 'number') closeSync(errFd);
  let exited: number | null | undefined;
  let startReport = '';
  const startPipe = child.stdio[3] as Readable | null;
  startPipe?.on('data', (chunk: Buffer) => {
    if (startReport.length < 4096) startReport += chunk.toString('utf8');
  });
  startPipe?.on('error', () => undefined);
  child.once('exit', (code) => (exited = code));
  child.unref();
  const done = () => startPipe?.destroy();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exited !== undefined) {
        // It may have lost a race to another daemon that now answers.
        const c = await connectAndHello(paths, client).catch(unlessUnsafe);
        if (c) return c;
        await sleep(20); // let the pipe's last bytes arrive
        const reason = (startReport.split('\n').map((l) => l.trim()).find(Boolean) || lastLine(join(paths.state, 'daemon.stderr'))).replace(
          /^reflexgen daemon: /,
          '',
        );
        const detail = printable(reason || logTail(paths));
        throw new DaemonUnavailableError(`the daemon exited during start-up (code ${exited})${detail ? `: ${detail}` : ''}`);
      }
      const c = await connectAndHello(paths, client).catch(unlessUnsafe);
      if (c) return c;
      await sleep(40);
    }
    const detail = printable(startReport.trim().split('\n')[0] ?? '') || logTail(paths);
    throw new DaemonUnavailableError(`the daemon did not answer within ${timeoutMs} ms${detail ? ` (${detail})` : ''}`);
  } finally {
    done();
  }
}

export interface ConnectOptions {
  env?: NodeJS.ProcessEnv;
  client?: 'hook' | 'cli' | 'test';
  /** Start one when none answers (default true). */
  start?: boolean;
  startTimeoutMs?: number;
  /** Told when the caller has to wait for a daemon to start. */
  onWait?: (message: string) => void;
  /** A request to send right behind `hello` on the first connection attempt (see DaemonClient.pipelined). */
  pipeline?: Pipelined;
}

/**
 * Connects to the daemon, starting it when none answers. A lock in the state dir makes two
 * concurrent commits start one daemon; a stale socket (daemon killed) is removed; a daemon of
 * another version is retired and replaced.
 */
export async function connectDaemon(opts: ConnectOptions = {}): Promise<DaemonClient> {
  const paths = daemonPaths(opts.env);
  const client = opts.client ?? 'cli';
  const timeoutMs = opts.startTimeoutMs ?? Number(process.env.REFLEXGEN_START_TIMEOUT_MS ?? 15_000);
  const fast = await connectAndHello(paths, client, opts.pipeline);
  if (fast && fast.hello?.daemonVersion === buildVersion()) return fast;
  if (opts.start === false) {
    if (fast) return fast;
    throw new DaemonUnavailableError('the daemon is not running');
  }
  ensurePrivateDir(paths.state);
  // proper-lockfile is only needed on this slow path; keep it off the hook's warm path.
  const { lock } = await import('proper-lockfile');
  let release: (() => Promise<void>) | undefined;
  try {
    release = await lock(paths.state, {
      lockfilePath: paths.lock,
      stale: 10_000,
      retries: { retries: Math.ceil(timeoutMs / 100), minTimeout: 50, maxTimeout: 150, factor: 1.2 },
    });
  } catch (err) {
    fast?.close();
    throw new DaemonUnavailableError(`could not take the daemon start lock: ${(err as Error).message}`);
  }
  try {
    let c = fast ?? (await connectAndHello(paths, client));
    if (c && c.hello?.daemonVersion !== buildVersion()) {
      await retire(c, paths);
      c = undefined;
    }
    if (c) return c;
    if (existsSync(paths.socket)) rmSync(paths.socket, { force: true }); // stale: nothing answered on it
    opts.onWait?.('starting the security daemon (the first check after it stopped loads the analyzers)');
    return await spawnDaemon(paths, client, timeoutMs);
  } finally {
    await release().catch(() => undefined);
  }
}

export async function withDaemon<T>(fn: (client: DaemonClient) => Promise<T>, opts: ConnectOptions = {}): Promise<T> {
  const c = await connectDaemon(opts);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** Stops the daemon if one runs; true when one was stopped. */
export async function stopDaemon(env?: NodeJS.ProcessEnv): Promise<boolean> {
  const paths = daemonPaths(env);
  const c = await connectAndHello(paths, 'cli').catch(unlessUnsafe);
  if (!c) {
    if (existsSync(paths.socket)) rmSync(paths.socket, { force: true });
    return false;
  }
  await retire(c, paths);
  return true;
}
