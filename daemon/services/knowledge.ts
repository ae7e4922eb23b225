import { join } from 'node:path';
import { KnowledgeBase } from '../../knowledge/index.js';
import { modelDir } from '../../shared/paths.js';
import type { DaemonContext } from '../handlers/types.js';

/**
 * The daemon's one knowledge base: opened on first use (model, vectors and indexes stay warm in
 * memory after that) and shared by every request. Concurrent first callers share one open.
 */
export async function getKnowledge(daemon: DaemonContext): Promise<KnowledgeBase> {
  const ready = daemon.services.knowledge;
  if (ready) return ready;
  let opening = daemon.services.knowledgeOpening;
  if (!opening) {
    const log = {
      info: (msg: string) => daemon.log.info(msg),
      warn: (msg: string) => daemon.log.warn(msg),
    };
    opening = KnowledgeBase.open({ dir: join(daemon.stateDir, 'knowledge'), modelDir: modelDir(), log }).then(
      (kb) => {
        daemon.services.knowledge = kb;
        delete daemon.services.knowledgeOpening;
        return kb;
      },
      (err: unknown) => {
        // A failed open must not stick: the next request tries again.
        delete daemon.services.knowledgeOpening;
        throw err;
      },
    );
    daemon.services.knowledgeOpening = opening;
  }
  return opening;
}

/** Flushes counters and compacts; for the daemon's shutdown path. */
export async function closeKnowledge(daemon: DaemonContext): Promise<void> {
  const kb = daemon.services.knowledge;
  if (kb) {
    delete daemon.services.knowledge;
    await kb.close();
  }
}
