import { join } from 'node:path';
import type { DaemonContext } from '../handlers/types.js';
import { ResultCache } from '../pipeline/cache.js';
import { BlobMemory } from '../pipeline/snapshot.js';

export function getCache(daemon: DaemonContext): ResultCache {
  let c = daemon.services.cache;
  if (!c) {
    c = new ResultCache(process.env.REFLEXGEN_NO_DISK_CACHE === '1' ? undefined : join(daemon.stateDir, 'cache'));
    daemon.services.cache = c;
  }
  return c;
}

export function getBlobMemory(daemon: DaemonContext): BlobMemory {
  let m = daemon.services.blobs;
  if (!m) {
    m = new BlobMemory();
    daemon.services.blobs = m;
  }
  return m;
}
