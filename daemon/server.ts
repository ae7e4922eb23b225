import { createServer, type IncomingMessage, type Server } from 'node:http';
import { chmodSync, existsSync, unlinkSync, writeFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import { daemonPaths, ensurePrivateDir, type DaemonPaths } from '../shared/paths.js';
import {
  ErrorCodes,
  HelloParamsSchema,
  RequestSchema,
  TOKEN_HEADER,
  type HelloResult,
} from '../shared/protocol.js';
import { RpcError } from '../shared/rpc.js';
import { ensureToken } from '../shared/token.js';
import { PROTOCOL_VERSION, buildVersion } from '../shared/version.js';
import { handlers } from './handlers/index.js';
import type { DaemonContext, RequestContext } from './handlers/types.js';
import { describeZodError } from '../shared/config.js';

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  log: Logger;
  idleExitMs: number;
  /** Called once the daemon has closed everything; main() exits the process there. */
  onExit: (code: number) => void;
}

/** True when something accepts connections on the socket (a live daemon), false for a stale file. */
export function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function tokenMatches(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class DaemonServer {
  readonly paths: DaemonPaths;
  readonly context: DaemonContext;
  private http!: Server;
  private wss!: WebSocketServer;
  private token = '';
  private idleTimer?: NodeJS.Timeout;
  private connections = new Set<WebSocket>();
  private closing = false;

  constructor(private readonly opts: StartOptions) {
    this.paths = daemonPaths(opts.env);
    this.context = {
      log: opts.log,
      stateDir: this.paths.state,
      socketPath: this.paths.socket,
      startedAt: new Date(),
      version: buildVersion(),
      repos: new Set(),
      checks: { running: 0, done: 0 },
      idleExitMs: opts.idleExitMs,
      requestShutdown: () => setImmediate(() => void this.close(0)),
      services: {},
    };
  }

  async listen(): Promise<void> {
    ensurePrivateDir(this.paths.state);
    ensurePrivateDir(dirname(this.paths.socket));
    this.token = await ensureToken(this.paths.token);
    if (existsSync(this.paths.socket)) {
      if (await socketAlive(this.paths.socket)) throw new Error(`another daemon already listens on ${this.paths.socket}`);
      unlinkSync(this.paths.socket); // stale: its daemon died without cleaning up
    }
    this.http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n');
    });
    this.wss = new WebSocketServer({
      server: this.http,
      maxPayload: 512 * 1024 * 1024,
      verifyClient: (info: { req: IncomingMessage }, cb: (ok: boolean, code?: number, msg?: string) => void) => {
        // Browsers always send Origin; no legitimate client of ours does. Refuse them outright.
        if (info.req.headers.origin !== undefined) {
          this.opts.log.warn('refused a connection that carried an Origin header');
          return cb(false, 403, 'Forbidden');
        }
        if (!tokenMatches(info.req.headers[TOKEN_HEADER], this.token)) {
          this.opts.log.warn('refused a connection with a missing or wrong token');
          return cb(false, 401, 'Unauthorized');
        }
        cb(true);
      },
    });
    this.wss.on('connection', (ws) => this.onConnection(ws));
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.paths.socket, () => resolve());
    });
    chmodSync(this.paths.socket, 0o600);
    writeFileSync(this.paths.pid, `${process.pid}\n`, { mode: 0o600 });
    this.opts.log.info({ socket: this.paths.socket, version: this.context.version }, 'daemon listening');
    this.armIdle();
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.opts.idleExitMs <= 0) return;
    this.idleTimer = setTimeout(() => {
      if (this.connections.size === 0 && this.context.checks.running === 0) {
        this.opts.log.info('idle: exiting');
        void this.close(0);
      } else this.armIdle();
    }, this.opts.idleExitMs);
    this.idleTimer.unref();
  }

  private onConnection(ws: WebSocket): void {
    this.connections.add(ws);
    this.armIdle();
    let helloDone = false;
    const abort = new AbortController();
    ws.on('close', () => {
      this.connections.delete(ws);
      abort.abort();
      this.armIdle();
    });
    const send = (msg: unknown) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
    };
    const fail = (id: string | number | null, code: number, message: string) =>
      send({ jsonrpc: '2.0', id, error: { code, message } });

    ws.on('message', async (data) => {
      this.armIdle();
      let raw: unknown;
      try {
        raw = JSON.parse(data.toString());
      } catch {
        return fail(null, ErrorCodes.ParseError, 'message is not valid JSON');
      }
      const parsed = RequestSchema.safeParse(raw);
      if (!parsed.success) return fail(null, ErrorCodes.InvalidRequest, describeZodError('request', parsed.error));
      const req = parsed.data;
      if (req.method === 'hello') {
        const hp = HelloParamsSchema.safeParse(req.params ?? {});
        if (!hp.success) return fail(req.id, ErrorCodes.InvalidParams, describeZodError('hello', hp.error));
        if (hp.data.protocolVersion !== PROTOCOL_VERSION) {
          return fail(req.id, ErrorCodes.VersionMismatch, `protocol ${hp.data.protocolVersion} is not ${PROTOCOL_VERSION}`);
        }
        helloDone = true;
        const result: HelloResult = {
          protocolVersion: PROTOCOL_VERSION,
          daemonVersion: this.context.version,
          pid: process.pid,
          startedAt: this.context.startedAt.toISOString(),
        };
        return send({ jsonrpc: '2.0', id: req.id, result });
      }
      if (!helloDone) return fail(req.id, ErrorCodes.HelloRequired, 'the first request must be hello');
      if (this.closing) return fail(req.id, ErrorCodes.ShuttingDown, 'the daemon is shutting down');
      const handler = handlers[req.method];
      if (!handler) return fail(req.id, ErrorCodes.MethodNotFound, `unknown method ${req.method}`);
      const params = handler.params.safeParse(req.params);
      if (!params.success) return fail(req.id, ErrorCodes.InvalidParams, describeZodError(req.method, params.error));
      const ctx: RequestContext = {
        daemon: this.context,
        requestId: req.id,
        signal: abort.signal,
        progress: (stage, message, done, total) =>
          send({ jsonrpc: '2.0', method: 'progress', params: { requestId: req.id, stage, message, done, total } }),
      };
      const started = performance.now();
      try {
        const result = await handler.handle(params.data, ctx);
        const checked = handler.result.safeParse(result);
        if (!checked.success) throw new Error(describeZodError(`${req.method} result`, checked.error));
        send({ jsonrpc: '2.0', id: req.id, result: checked.data });
        this.opts.log.info({ method: req.method, ms: Math.round(performance.now() - started) }, 'request done');
      } catch (err) {
        if (err instanceof RpcError) return fail(req.id, err.code, err.message);
        this.opts.log.error({ err, method: req.method }, 'request failed');
        fail(req.id, ErrorCodes.Internal, (err as Error).message);
      }
    });
  }

  async close(code: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const ws of this.connections) ws.close(1001, 'daemon stopping');
    await new Promise<void>((resolve) => this.wss?.close(() => resolve()));
    await new Promise<void>((resolve) => this.http?.close(() => resolve()));
    // http.close already unlinks the socket on most platforms; make sure, and drop the pid file.
    rmSync(this.paths.socket, { force: true });
    rmSync(this.paths.pid, { force: true });
    for (const service of Object.values(this.context.services)) {
      const closeFn = (service as { close?: () => Promise<void> | void } | undefined)?.close;
      if (typeof closeFn === 'function') await Promise.resolve(closeFn.call(service)).catch(() => undefined);
    }
    this.opts.log.info('daemon stopped');
    this.opts.onExit(code);
  }
}
