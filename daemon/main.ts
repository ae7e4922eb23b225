#!/usr/bin/env node
/*
 * The daemon process. Started detached by the hook or by `reflexgen daemon start`; it keeps the
 * analyzers' probes, the knowledge base and the embedding model warm between commits.
 */
import { daemonPaths, ensurePrivateDir } from '../shared/paths.js';
import { createLogger } from './log.js';
import { DaemonServer } from './server.js';
import { registerHandlers } from './handlers/index.js';
import { checkHandler } from './handlers/check.js';
import { statusHandler, shutdownHandler, watchHandler } from './handlers/status.js';
import { getWatcher } from './watcher.js';
import { cancelCodeqlRuns } from './analyzers/codeql.js';
import { cleanStaleSnapshots } from './pipeline/snapshot.js';
import { generateHandler } from './handlers/generate.js';
import { kbAdd, kbExport, kbImport, kbList, kbRemove, kbSearch, kbStats } from './handlers/kb.js';

const DEFAULT_IDLE_EXIT_MS = 30 * 60_000;

async function main(): Promise<void> {
  const paths = daemonPaths();
  ensurePrivateDir(paths.state);
  const log = createLogger(paths.log);
  // Every method the daemon answers besides `hello` (which the server handles itself), in one place.
  registerHandlers({
    check: checkHandler,
    status: statusHandler,
    shutdown: shutdownHandler,
    watch: watchHandler,
    generate: generateHandler,
    'kb.search': kbSearch,
    'kb.list': kbList,
    'kb.add': kbAdd,
    'kb.remove': kbRemove,
    'kb.export': kbExport,
    'kb.import': kbImport,
    'kb.stats': kbStats,
  });
  const idle = Number(process.env.REFLEXGEN_IDLE_EXIT_MS ?? DEFAULT_IDLE_EXIT_MS);
  const server = new DaemonServer({
    log,
    idleExitMs: Number.isFinite(idle) ? idle : DEFAULT_IDLE_EXIT_MS,
    onExit: (code) => {
      log.flush?.();
      process.exit(code);
    },
  });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void server.close(0));
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    void server.close(1);
  });
  try {
    await server.listen();
    server.context.services.codeql = { close: cancelCodeqlRuns };
    getWatcher(server.context).loadPersisted();
    // Copies of staged code left by a daemon that died mid-check (kill -9, power loss).
    const removed = await cleanStaleSnapshots();
    if (removed.length) log.info({ removed: removed.length }, 'removed snapshot directories of a daemon that is gone');
  } catch (err) {
    log.error({ err }, 'daemon could not start');
    process.stderr.write(`reflexgen daemon: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

void main();
