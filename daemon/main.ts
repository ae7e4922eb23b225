#!/usr/bin/env node
/*
 * The daemon process. Started detached by the hook or by `reflexgen daemon start`; it keeps the
 * analyzers' probes, the knowledge base and the embedding model warm between commits.
 */
import { closeSync, writeSync } from 'node:fs';
import type { Logger } from 'pino';
import { daemonPaths, ensurePrivateDir } from '../shared/paths.js';
import { oneLine } from '../shared/errors.js';
import { createLogger } from './log.js';
import { DaemonServer } from './server.js';
import { registerHandlers, type HandlerLoader } from './handlers/index.js';
import type { Handler } from './handlers/types.js';
import type { MethodName } from '../shared/protocol.js';
import type { DaemonContext } from './handlers/types.js';

/*
 * Start-up order: only what the socket needs is imported before it listens (the server, the
 * protocol, the log); see warmUp() for what follows.
 */
const status = () => import('./handlers/status.js');
const kb = () => import('./handlers/kb.js');

const DEFAULT_IDLE_EXIT_MS = 30 * 60_000;

/*
 * The client that spawns us passes a pipe as fd 3 (REFLEXGEN_START_FD) and reads from it why a
 * start failed: on a full disk the log and the stderr file cannot hold that reason. The pipe is
 * closed once the daemon listens, so nothing is ever written to it after the client has gone.
 */
let startFd: number | undefined = Number(process.env.REFLEXGEN_START_FD) || undefined;
delete process.env.REFLEXGEN_START_FD; // analyzers and other children must not think fd 3 is theirs

function reportStartFailure(message: string): void {
  const line = `reflexgen daemon: ${message}\n`;
  if (startFd !== undefined) {
    try {
      writeSync(startFd, line);
    } catch {
      /* the client is gone */
    }
  }
  try {
    process.stderr.write(line);
  } catch {
    /* stderr may be a file on the full disk */
  }
}

function endStartReport(): void {
  if (startFd === undefined) return;
  try {
    closeSync(startFd);
  } catch {
    /* already closed */
  }
  startFd = undefined;
}

/** Logging must never be what kills the daemon (a full disk makes every write fail). */
function safeLog(log: Logger | undefined, fn: (l: Logger) => void): void {
  if (!log) return;
  try {
    fn(log);
  } catch {
    /* nowhere left to say it */
  }
}

// Too many unexpected errors in a short time means the process itself is broken (not one bad
// request): then exit, and the next commit starts a fresh daemon.
const FATAL_BURST = 20;
const FATAL_WINDOW_MS = 60_000;

/**
 * What start-up does once the socket answers: watch the repositories of the last session (this
 * imports the analysis pipeline, which the first check needs too) and remove what a crashed daemon
 * left behind. Everything else loads on first use: each handler's module with its first request,
 * the analyzers' probes and parsers with the first check that needs them (ESLint only once a
 * JavaScript or TypeScript file is staged), the knowledge base and the embedding model with the
 * first guidance or kb request. Measured on a loaded 2-core machine, also probing the analyzers
 * here made the first check slower (its snapshot stage waited for the grammars to compile).
 */
async function warmUp(context: DaemonContext, log: Logger): Promise<void> {
  const { getWatcher } = await import('./watcher.js');
  getWatcher(context).loadPersisted();
  // Copies of staged code left by a daemon that died mid-check (kill -9, power loss).
  const { cleanStaleSnapshots } = await import('./pipeline/snapshot.js');
  const removed = await cleanStaleSnapshots();
  if (removed.length) safeLog(log, (l) => l.info({ removed: removed.length }, 'removed snapshot directories of a daemon that is gone'));
}

async function main(): Promise<void> {
  // Everything the daemon creates (log, pid file, socket, caches) is for this user only.
  process.umask(0o077);
  let log: Logger | undefined;
  let server: DaemonServer | undefined;
  let listening = false;
  const recent: number[] = [];
  const unexpected = (err: unknown, kind: string) => {
    safeLog(log, (l) => l.error({ err }, kind));
    if (!listening) {
      reportStartFailure(oneLine(err));
      endStartReport();
      process.exit(1);
    }
    const now = Date.now();
    recent.push(now);
    while (recent.length && now - recent[0]! > FATAL_WINDOW_MS) recent.shift();
    if (recent.length >= FATAL_BURST) {
      safeLog(log, (l) => l.fatal(`${recent.length} unexpected errors within a minute: exiting`));
      void server?.close(1);
    }
  };
  // One request's or one connection's failure must not stop the daemon serving the others:
  // the server isolates connections, and whatever still escapes is logged, not fatal.
  process.on('uncaughtException', (err) => unexpected(err, 'uncaught exception'));
  process.on('unhandledRejection', (err) => unexpected(err, 'unhandled rejection'));
  try {
    const paths = daemonPaths();
    ensurePrivateDir(paths.state);
    log = createLogger(paths.log);
    // Every method the daemon answers besides `hello` (which the server handles itself), in one
    // place; typed by the contract, so a method without a handler does not compile.
    const handlers: Record<Exclude<MethodName, 'hello'>, Handler<any, any> | HandlerLoader> = {
      check: async () => (await import('./handlers/check.js')).checkHandler,
      verdict: async () => (await import('./handlers/check.js')).verdictHandler,
      status: async () => (await status()).statusHandler,
      shutdown: async () => (await status()).shutdownHandler,
      watch: async () => (await status()).watchHandler,
      generate: async () => (await import('./handlers/generate.js')).generateHandler,
      'kb.search': async () => (await kb()).kbSearch,
      'kb.list': async () => (await kb()).kbList,
      'kb.add': async () => (await kb()).kbAdd,
      'kb.remove': async () => (await kb()).kbRemove,
      'kb.export': async () => (await kb()).kbExport,
      'kb.import': async () => (await kb()).kbImport,
      'kb.stats': async () => (await kb()).kbStats,
    };
    registerHandlers(handlers);
    const idle = Number(process.env.REFLEXGEN_IDLE_EXIT_MS ?? DEFAULT_IDLE_EXIT_MS);
    const s = new DaemonServer({
      log,
      idleExitMs: Number.isFinite(idle) ? idle : DEFAULT_IDLE_EXIT_MS,
      onExit: (code) => {
        safeLog(log, (l) => l.flush?.());
        process.exit(code);
      },
    });
    server = s;
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void s.close(0));
    await s.listen();
    listening = true;
    endStartReport();
    // Past this point the daemon serves; a failed warm-up step is logged, and the request that
    // needs what it would have loaded tries again.
    const started = log;
    void warmUp(s.context, started).catch((err: unknown) => safeLog(started, (l) => l.error({ err }, 'warm-up after start failed')));
  } catch (err) {
    safeLog(log, (l) => l.error({ err }, 'daemon could not start'));
    reportStartFailure(oneLine(err));
    endStartReport();
    process.exit(1);
  }
}

void main();
