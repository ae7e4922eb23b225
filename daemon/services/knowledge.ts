import { join } from 'node:path';
import { KnowledgeBase } from '../../knowledge/index.js';
import { modelDir } from '../../shared/paths.js';
import type { DaemonContext } from '../handlers/types.js';

const KEY = 'knowledge';
const OPENING = 'knowledge:opening';

/**
 * The daemon's one knowledge base: opened on first use (model, vectors and indexes stay warm in
 * memory after that) and shared by every request. Concurrent first callers share one open.
 */
export async function getKnowledge(daemon: DaemonContext): Promise<KnowledgeBase> {
  const ready = daemon.services[KEY];
  if (ready instanceof KnowledgeBase) return ready;
  let opening = daemon.services[OPENING] as Promise<KnowledgeBase> | undefined;
  if (!opening) {
    const log = {
      info: (msg: string) => daemon.log.info(msg),
      warn: (msg: string) => daemon.log.warn(msg),
    };
    opening = KnowledgeBase.open({ dir: join(daemon.stateDir, 'knowledge'), modelDir: modelDir(), log }).then(
      (kb) => {
        daemon.services[KEY] = kb;
        delete daemon.services[OPENING];
        return kb;
      },
      (err: unknown) => {
        // A failed open must not stick: the next request tries again.
        delete daemon.services[OPENING];
        throw err;
      },
    );
    daemon.services[OPENING] = opening;
  }
  return opening;
}

/** Flushes counters and compacts; for the daemon's shutdown path. */
export async function closeKnowledge(daemon: DaemonContext): Promise<void> {
  const kb = daemon.services[KEY];
  if (kb instanceof KnowledgeBase) {
    delete daemon.services[KEY];
    await kb.close();
  }
}
