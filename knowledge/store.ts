import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Datastore from 'nedb-promises';
import type { KnowledgeEntry, Logish } from './types.js';

/** An entry as it lies in the datafile: the entry plus its embedding and the weights that made it. */
export interface StoredDoc extends Omit<KnowledgeEntry, 'id'> {
  _id: string;
  vector?: string;
  vectorModel?: string;
  codeHash?: string;
}

interface MetaDoc {
  _id: string;
  value: unknown;
}

type NedbStore<T> = Datastore<T> & { __original?: { compactDatafileAsync(): Promise<void> } };

/*
 * nedb appends one JSON line per write and rewrites the file (temp file, fsync, rename) on load and
 * on compaction, so a process killed mid-write leaves at most one torn line at the end. A torn or
 * corrupt line makes nedb refuse to load above its corruption threshold; we first load strictly to
 * learn how many lines are bad, keep a copy of the damaged file, report it and load leniently.
 */
async function openDatastore<T>(filename: string, log: Logish): Promise<NedbStore<T>> {
  const strict = Datastore.create({ filename, corruptAlertThreshold: 0 }) as NedbStore<T>;
  try {
    await strict.load();
    return strict;
  } catch (err) {
    const e = err as { corruptItems?: number; dataLength?: number; message?: string };
    if (typeof e.corruptItems !== 'number') throw err;
    const backup = `${filename}.corrupt-${Date.now()}`;
    if (existsSync(filename)) copyFileSync(filename, backup);
    log.warn(
      `knowledge: ${e.corruptItems} corrupt line(s) of ${e.dataLength} in ${filename} skipped (copy of the damaged file kept at ${backup})`,
    );
    const lenient = Datastore.create({ filename, corruptAlertThreshold: 1 }) as NedbStore<T>;
    await lenient.load();
    return lenient;
  }
}

export class KnowledgeStore {
  private writesSinceCompaction = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly entries: NedbStore<StoredDoc>,
    private readonly meta: NedbStore<MetaDoc>,
    private readonly compactAfterWrites: number,
  ) {}

  static async open(dir: string, log: Logish, opts: { compactEveryMs?: number; compactAfterWrites?: number } = {}): Promise<KnowledgeStore> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const entries = await openDatastore<StoredDoc>(join(dir, 'entries.db'), log);
    const meta = await openDatastore<MetaDoc>(join(dir, 'meta.db'), log);
    const store = new KnowledgeStore(entries, meta, opts.compactAfterWrites ?? 2000);
    const every = opts.compactEveryMs ?? 10 * 60_000;
    if (every > 0) {
      store.timer = setInterval(() => {
        store.compact().catch((err) => log.warn(`knowledge: compaction failed: ${String(err)}`));
      }, every);
      // The daemon's idle exit must not wait on this timer.
      store.timer.unref();
    }
    return store;
  }

  async all(): Promise<StoredDoc[]> {
    return this.entries.find({});
  }

  async get(id: string): Promise<StoredDoc | null> {
    return this.entries.findOne({ _id: id });
  }

  async put(doc: StoredDoc): Promise<void> {
    await this.entries.updateOne({ _id: doc._id }, doc, { upsert: true });
    await this.wrote();
  }

  async patch(id: string, set: Partial<StoredDoc>, inc?: Partial<Record<'retrieved' | 'helped', number>>): Promise<void> {
    const update: Record<string, unknown> = {};
    if (Object.keys(set).length > 0) update.$set = set;
    if (inc && Object.keys(inc).length > 0) update.$inc = inc;
    if (Object.keys(update).length === 0) return;
    await this.entries.updateOne({ _id: id }, update);
    await this.wrote();
  }

  async remove(id: string): Promise<boolean> {
    const n = await this.entries.removeOne({ _id: id }, {});
    if (n > 0) await this.wrote();
    return n > 0;
  }

  async getMeta<T>(key: string): Promise<T | undefined> {
    const d = await this.meta.findOne({ _id: key });
    return d ? (d.value as T) : undefined;
  }

  async setMeta(key: string, value: unknown): Promise<void> {
    await this.meta.updateOne({ _id: key }, { _id: key, value }, { upsert: true });
  }

  /** Rewrites the datafiles without the superseded lines (crash safe: temp file then rename). */
  async compact(): Promise<void> {
    this.writesSinceCompaction = 0;
    await this.entries.__original?.compactDatafileAsync();
    await this.meta.__original?.compactDatafileAsync();
  }

  private async wrote(): Promise<void> {
    if (++this.writesSinceCompaction >= this.compactAfterWrites) await this.compact();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.compact();
  }
}
