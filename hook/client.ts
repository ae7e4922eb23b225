import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { daemonPaths, ensurePrivateDir, packageRoot, type DaemonPaths } from '../shared/paths.js';
import { ErrorCodes, TOKEN_HEADER } from '../shared/protocol-constants.js';
import type { HelloResult, ProgressParams } from '../shared/protocol.js';
import * as validate from '../shared/protocol-validators.js';
import type { GeneratedValidator } from '../shared/protocol-validators.js';
import { RpcError } from '../shared/rpc.js';
import { connectWs, HandshakeError, type WsLite } from './ws-client.js';
import { readToken } from '../shared/token.js';
import { PROTOCOL_VERSION, buildVersion } from '../shared/version.js';

/*
 * The client side of the daemon protocol, used by the git hook and every CLI command that needs
 * the daemon. Kept free of heavy imports: it runs on every commit. Messages are checked with
 * validators generated at build time from the same zod schemas the daemon uses.
 */

export type ProgressHandler = (p: ProgressParams) => void;

export class DaemonUnavailableError extends Error {
  override name = 'DaemonUnavailableError';
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

/** Result validators for the requests whose answers the hook acts on. */
const RESULT_VALIDATORS: Record<string, GeneratedValidator> = { hello: validate.HelloResult, check: validate.CheckResult };

export class DaemonClient {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  hello?: HelloResult;

  constructor(private readonly ws: WsLite) {
    ws.onMessage((text) => this.onMessage(text));
    ws.onClose(() => {
      for (const p of this.pending.values()) p.reject(new DaemonUnavailableError('the daemon closed the connection'));
      this.pending.clear();
    });
  }

  private onMessage(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (!validate.ServerMessage(msg)) return;
    const m = msg as { id?: number | string | null; method?: string; params?: unknown; result?: unknown; error?: { code: number; message: string } };
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
        reject(new DaemonUnavailableError(`could not send to the daemon: ${(err as Error).message}`));
      }
    });
  }

  close(): void {
    this.ws.close();
  }
}

function connectOnce(paths: DaemonPaths, token: string): Promise<WsLite> {
  return connectWs(paths.socket, { [TOKEN_HEADER]: token });
}

async function connectAndHello(paths: DaemonPaths, client: string): Promise<DaemonClient | undefined> {
  const token = readToken(paths.token);
  if (!token || !existsSync(paths.socket)) return undefined;
  let ws: WsLite;
  try {
    ws = await connectOnce(paths, token);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT') return undefined;
    throw new DaemonUnavailableError(err instanceof HandshakeError ? err.message : (err as Error).message);
  }
  const c = new DaemonClient(ws);
  try {
    c.hello = await c.request<HelloResult>('hello', { protocolVersion: PROTOCOL_VERSION, clientVersion: buildVersion(), client });
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

function daemonEntry(): string {
  return join(packageRoot(), 'dist', 'daemon', 'main.js');
}

function logTail(paths: DaemonPaths): string {
  try {
    const lines = readFileSync(paths.log, 'utf8').trim().split('\n');
    const last = lines[lines.length - 1] ?? '';
    try {
      return JSON.parse(last).msg ?? last;
    } catch {
      return last;
    }
  } catch {
    return '';
  }
}

/** Spawns the daemon detached and waits until it answers. Caller holds the start lock. */
async function spawnDaemon(paths: DaemonPaths, client: string, timeoutMs: number): Promise<DaemonClient> {
  ensurePrivateDir(paths.state);
  const errFd = openSync(join(paths.state, 'daemon.stderr'), 'a', 0o600);
  const child = spawn(process.execPath, [daemonEntry()], { detached: true, stdio: ['ignore', 'ignore', errFd], env: process.env });
  closeSync(errFd);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      // It may have lost a race to another daemon that now answers.
      const c = await connectAndHello(paths, client).catch(() => undefined);
      if (c) return c;
      let detail = '';
      try {
        detail = readFileSync(join(paths.state, 'daemon.stderr'), 'utf8').trim().split('\n').pop() ?? '';
      } catch {
        /* none */
      }
      throw new DaemonUnavailableError(`the daemon exited during start-up (code ${exited})${detail ? `: ${detail}` : ''}`);
    }
    const c = await connectAndHello(paths, client).catch(() => undefined);
    if (c) return c;
    await sleep(40);
  }
  throw new DaemonUnavailableError(`the daemon did not answer within ${timeoutMs} ms${logTail(paths) ? ` (log: ${logTail(paths)})` : ''}`);
}

export interface ConnectOptions {
  env?: NodeJS.ProcessEnv;
  client?: 'hook' | 'cli' | 'test';
  /** Start one when none answers (default true). */
  start?: boolean;
  startTimeoutMs?: number;
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
  const fast = await connectAndHello(paths, client);
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
  const c = await connectAndHello(paths, 'cli').catch(() => undefined);
  if (!c) {
    if (existsSync(paths.socket)) rmSync(paths.socket, { force: true });
    return false;
  }
  await retire(c, paths);
  return true;
}
