import { createServer, type IncomingMessage, type Server } from 'node:http';
import { chmodSync, existsSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import { daemonPaths, ensurePrivateDir, type DaemonPaths } from '../shared/paths.js';
import {
  ErrorCodes,
  HEARTBEAT_INTERVAL_MS,
  HelloParamsSchema,
  MAX_MESSAGE_BYTES,
  RequestSchema,
  TOKEN_HEADER,
  type HelloResult,
} from '../shared/protocol.js';
import { RpcError } from '../shared/rpc.js';
import { ensureToken } from '../shared/token.js';
import { PROTOCOL_VERSION } from '../shared/version.js';
import { closeServices, createDaemonContext } from './context.js';
import { findHandler } from './handlers/index.js';
import type { DaemonContext, Handler, RequestContext } from './handlers/types.js';
import { describeZodError } from '../shared/config.js';
import { cleanLine } from '../shared/terminal-text.js';

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

/** A message at least this big is followed by a full garbage collection once it is answered. */
const BIG_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Requests one connection may have running at once; the hook and the CLI send one at a time. */
const MAX_IN_FLIGHT = 8;

/** A client-chosen string, cut short and made printable for an error message or the log. */
function shown(s: string): string {
  const clean = cleanLine(s.slice(0, 64));
  return s.length > 64 ? `${clean}...` : clean;
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
  private collectTimer?: NodeJS.Timeout;
  /** The inode of the socket this daemon created, so close() never removes a successor's. */
  private socketIno?: number;

  constructor(private readonly opts: StartOptions) {
    this.paths = daemonPaths(opts.env);
    this.context = createDaemonContext({
      paths: this.paths,
      log: opts.log,
      idleExitMs: opts.idleExitMs,
      requestShutdown: () => setImmediate(() => void this.close(0)),
    });
  }

  async listen(): Promise<void> {
    ensurePrivateDir(this.paths.state);
    ensurePrivateDir(dirname(this.paths.socket), dirname(this.paths.socket) === this.paths.state ? 'state directory' : 'socket directory');
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
      // Bounds what one client can make the daemon buffer; ws answers a bigger message (also one
      // split into fragments) with close code 1009 on that connection only.
      maxPayload: MAX_MESSAGE_BYTES,
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
    // Errors of the server objects themselves (not of one connection) are logged, never fatal.
    this.wss.on('error', (err) => this.opts.log.error({ err }, 'WebSocket server error'));
    // Bad HTTP before the upgrade: answer 400 and drop that socket only.
    this.http.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      socket.destroy();
    });
    // The socket is created with the process umask; make it private from its first moment, so a
    // client never sees it looser than 0600 (clients refuse such a socket).
    const umask = process.umask(0o077);
    try {
      await new Promise<void>((resolve, reject) => {
        this.http.once('error', reject);
        this.http.listen(this.paths.socket, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    this.http.on('error', (err) => this.opts.log.error({ err }, 'HTTP server error'));
    try {
      chmodSync(this.paths.socket, 0o600);
      this.socketIno = statSync(this.paths.socket).ino;
      try {
        writeFileSync(this.paths.pid, `${process.pid}\n`, { mode: 0o600 });
      } catch (err) {
        throw new Error(`could not write the pid file ${this.paths.pid}: ${(err as Error).message}`);
      }
      this.opts.log.info({ socket: this.paths.socket, version: this.context.version }, 'daemon listening');
    } catch (err) {
      // A daemon that cannot finish starting (a full disk) leaves no socket or pid file behind.
      this.http.close();
      rmSync(this.paths.socket, { force: true });
      rmSync(this.paths.pid, { force: true });
      throw err;
    }
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
    const conn = { helloDone: false, inFlight: 0 };
    const abort = new AbortController();
    ws.on('close', () => {
      this.connections.delete(ws);
      abort.abort();
      this.armIdle();
    });
    // A frame that breaks RFC 6455 (bad UTF-8, RSV bits, unknown opcode, no mask, over
    // maxPayload) is this connection's problem: ws has already sent the close frame with the
    // reason; drop the socket shortly after so a peer that never answers holds nothing.
    ws.on('error', (err: Error & { code?: string }) => {
      this.opts.log.warn({ code: err.code, reason: err.message }, 'closed a connection that broke the protocol');
      setTimeout(() => ws.terminate(), 1000).unref();
      // An over-size message may have buffered up to the limit before it was refused.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.collectSoon();
    });
    ws.on('message', (data, isBinary) => {
      this.armIdle();
      const big = (data as Buffer).length >= BIG_MESSAGE_BYTES;
      try {
        this.onMessage(ws, conn, abort.signal, data as Buffer, isBinary, big);
        if (big) this.collectSoon();
      } catch (err) {
        // Nothing one message does may take the daemon down for everyone else.
        this.opts.log.error({ err }, 'dropped a connection after an unexpected error');
        ws.terminate();
      }
    });
  }

  /*
   * After a message of tens of MiB the heap holds its copies (raw bytes, the decoded string, the
   * parsed JSON) until V8 decides on a major GC, which an idle daemon may not do for a long time:
   * the RSS stayed high. The client starts the daemon with --expose-gc, and one collection shortly
   * after such a request returns the memory (a no-op when the flag is missing).
   */
  private collectSoon(): void {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) return;
    if (this.collectTimer) clearTimeout(this.collectTimer);
    this.collectTimer = setTimeout(() => {
      this.collectTimer = undefined;
      gc();
    }, 200);
    this.collectTimer.unref();
  }

  private send(ws: WebSocket, msg: unknown): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  }

  private fail(ws: WebSocket, id: string | number | null, code: number, message: string): void {
    this.send(ws, { jsonrpc: '2.0', id, error: { code, message } });
  }

  /**
   * Parses and dispatches one message synchronously, so the raw frame and the parsed JSON are
   * garbage once the handler has its validated params: a 60 MiB request does not stay referenced
   * by a suspended async frame for as long as its check runs.
   */
  private onMessage(
    ws: WebSocket,
    conn: { helloDone: boolean; inFlight: number },
    signal: AbortSignal,
    data: Buffer,
    isBinary: boolean,
    big: boolean,
  ): void {
    if (isBinary) return this.fail(ws, null, ErrorCodes.InvalidRequest, 'binary messages are not part of the protocol');
    let raw: unknown;
    try {
      raw = JSON.parse(data.toString('utf8'));
    } catch {
      return this.fail(ws, null, ErrorCodes.ParseError, 'message is not valid JSON');
    }
    const parsed = RequestSchema.safeParse(raw);
    if (!parsed.success) return this.fail(ws, null, ErrorCodes.InvalidRequest, describeZodError('request', parsed.error));
    const req = parsed.data;
    if (req.method === 'hello') {
      const hp = HelloParamsSchema.safeParse(req.params ?? {});
      if (!hp.success) return this.fail(ws, req.id, ErrorCodes.InvalidParams, describeZodError('hello', hp.error));
      if (hp.data.protocolVersion !== PROTOCOL_VERSION) {
        return this.fail(ws, req.id, ErrorCodes.VersionMismatch, `protocol ${hp.data.protocolVersion} is not ${PROTOCOL_VERSION}`);
      }
      conn.helloDone = true;
      const result: HelloResult = {
        protocolVersion: PROTOCOL_VERSION,
        daemonVersion: this.context.version,
        pid: process.pid,
        startedAt: this.context.startedAt.toISOString(),
      };
      return this.send(ws, { jsonrpc: '2.0', id: req.id, result });
    }
    if (!conn.helloDone) return this.fail(ws, req.id, ErrorCodes.HelloRequired, 'the first request must be hello');
    if (this.closing) return this.fail(ws, req.id, ErrorCodes.ShuttingDown, 'the daemon is shutting down');
    const entry = findHandler(req.method);
    if (!entry) return this.fail(ws, req.id, ErrorCodes.MethodNotFound, `unknown method ${shown(req.method)}`);
    if (conn.inFlight >= MAX_IN_FLIGHT) {
      return this.fail(ws, req.id, ErrorCodes.InvalidRequest, `more than ${MAX_IN_FLIGHT} requests at once on one connection`);
    }
    if (typeof entry !== 'function') return this.dispatch(ws, conn, signal, req, entry, big);
    // The handler's module is still loading (a request right after start-up): it counts as in
    // flight while it waits, and only its params stay referenced meanwhile.
    conn.inFlight++;
    const { id, method, params } = req;
    entry().then(
      (handler) => {
        conn.inFlight--;
        if (this.closing) return this.fail(ws, id, ErrorCodes.ShuttingDown, 'the daemon is shutting down');
        this.dispatch(ws, conn, signal, { id, method, params }, handler, big);
      },
      (err: unknown) => {
        conn.inFlight--;
        this.opts.log.error({ err, method }, 'could not load the handler');
        this.fail(ws, id, ErrorCodes.Internal, `could not load the handler for ${shown(method)}: ${(err as Error)?.message ?? String(err)}`);
      },
    );
  }

  /** Validates the params against the handler's schema and runs it. */
  private dispatch(
    ws: WebSocket,
    conn: { helloDone: boolean; inFlight: number },
    signal: AbortSignal,
    req: { id: string | number; method: string; params?: unknown },
    handler: Handler<any, any>,
    big: boolean,
  ): void {
    const params = handler.params.safeParse(req.params);
    if (!params.success) return this.fail(ws, req.id, ErrorCodes.InvalidParams, describeZodError(req.method, params.error));
    conn.inFlight++;
    void this.run(ws, handler, req.method, req.id, params.data, signal).finally(() => {
      conn.inFlight--;
      if (big) this.collectSoon();
    });
  }

  private async run(ws: WebSocket, handler: Handler<any, any>, method: string, id: string | number, params: unknown, signal: AbortSignal): Promise<void> {
    const ctx: RequestContext = {
      daemon: this.context,
      requestId: id,
      signal,
      progress: (stage, message, done, total) =>
        this.send(ws, { jsonrpc: '2.0', method: 'progress', params: { requestId: id, stage, message, done, total } }),
    };
    // The client gives up after a silence (REFLEXGEN_SILENCE_TIMEOUT_MS); this says "still working"
    // as long as the event loop turns. A daemon stopped or stuck in synchronous work sends none.
    const heartbeat = setInterval(() => this.send(ws, { jsonrpc: '2.0', method: 'heartbeat', params: { requestId: id } }), HEARTBEAT_INTERVAL_MS);
    heartbeat.unref();
    const started = performance.now();
    try {
      const result = await handler.handle(params, ctx);
      const checked = handler.result.safeParse(result);
      if (!checked.success) throw new Error(describeZodError(`${method} result`, checked.error));
      this.send(ws, { jsonrpc: '2.0', id, result: checked.data });
      this.opts.log.info({ method, ms: Math.round(performance.now() - started) }, 'request done');
    } catch (err) {
      if (err instanceof RpcError) return this.fail(ws, id, err.code, err.message);
      this.opts.log.error({ err, method }, 'request failed');
      this.fail(ws, id, ErrorCodes.Internal, (err as Error)?.message ?? String(err));
    } finally {
      clearInterval(heartbeat);
    }
  }

  async close(code: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.collectTimer) clearTimeout(this.collectTimer);
    // Stop listening first. The WebSocket server's close drops its upgrade handler at once but
    // waits for every client's close handshake; a client connecting in between got the plain HTTP
    // answer (426) from a daemon on its way out and gave up, where it should find no daemon and
    // start one (seen as a failed first commit right after `reflexgen daemon stop`).
    const httpClosed = new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
    for (const ws of this.connections) ws.close(1001, 'daemon stopping');
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    await httpClosed;
    // libuv unlinks the socket when the server closes, and a new daemon may own the path by now:
    // remove the socket and the pid file only while they are still this daemon's.
    try {
      if (this.socketIno !== undefined && statSync(this.paths.socket).ino === this.socketIno) rmSync(this.paths.socket, { force: true });
    } catch {
      /* gone already */
    }
    try {
      if (readFileSync(this.paths.pid, 'utf8').trim() === String(process.pid)) rmSync(this.paths.pid, { force: true });
    } catch {
      /* gone already */
    }
    await closeServices(this.context);
    this.opts.log.info('daemon stopped');
    this.opts.onExit(code);
  }
}
