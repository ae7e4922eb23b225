import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from '../../shared/findings.js';
import { buildVersion } from '../../shared/version.js';

/*
 * Analyzer results by (analyzer id, analyzer version, RefleXGen build, effective analyzer config,
 * path, blob id): the same staged blob never goes through the same tool twice. In memory (bounded LRU) and on
 * disk in the state dir (one small file per key, written atomically), so a commit right after
 * `git add` and a daemon restart both hit it. Pending computations are shared too, so a check that
 * arrives while the watcher is analyzing the same blob waits for that run instead of starting
 * another.
 */

export interface CacheStats {
  hits: number;
  misses: number;
  entries: number;
  analyzerRuns: number;
}

export function gitBlobId(content: Buffer | string): string {
  const buf = typeof content === 'string' ? Buffer.from(content) : content;
  return createHash('sha1').update(`blob ${buf.length}\0`).update(buf).digest('hex');
}

export function cacheKey(parts: { analyzer: string; version: string; config: unknown; path: string; blob: string; deps?: string }): string {
  // `deps`: a digest of the other files the result depends on (absent for a file judged alone).
  // RefleXGen's own version and build hash are part of the key: the rules, and the mapping of every tool's output
  // to findings, change with it; an upgrade must never answer from results the old code produced.
  const key = [parts.analyzer, parts.version, buildVersion(), parts.config ?? null, parts.path, parts.blob];
  return createHash('sha256')
    .update(JSON.stringify(parts.deps ? [...key, parts.deps] : key))
    .digest('hex');
}

export class ResultCache {
  private mem = new Map<string, Finding[]>();
  private pending = new Map<string, Promise<Finding[] | undefined>>();
  readonly stats: CacheStats = { hits: 0, misses: 0, entries: 0, analyzerRuns: 0 };

  constructor(
    private readonly dir: string | undefined,
    private readonly maxMemory = 20_000,
    private readonly maxDisk = 50_000,
  ) {
    if (dir) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.prune();
    }
  }

  private file(key: string): string {
    return join(this.dir!, key.slice(0, 2), `${key}.json`);
  }

  get(key: string): Finding[] | undefined {
    const m = this.mem.get(key);
    if (m) {
      // Refresh LRU position.
      this.mem.delete(key);
      this.mem.set(key, m);
      return m;
    }
    if (!this.dir) return undefined;
    try {
      const v = JSON.parse(readFileSync(this.file(key), 'utf8')) as Finding[];
      this.remember(key, v);
      return v;
    } catch {
      return undefined;
    }
  }

  pendingFor(key: string): Promise<Finding[] | undefined> | undefined {
    return this.pending.get(key);
  }

  track(key: string, p: Promise<Finding[] | undefined>): void {
    this.pending.set(key, p);
    p.finally(() => {
      if (this.pending.get(key) === p) this.pending.delete(key);
    }).catch(() => undefined);
  }

  set(key: string, findings: Finding[]): void {
    this.remember(key, findings);
    if (!this.dir) return;
    const f = this.file(key);
    try {
      mkdirSync(join(this.dir, key.slice(0, 2)), { recursive: true });
      const tmp = `${f}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(findings));
      renameSync(tmp, f);
    } catch {
      /* a full disk loses the cache entry, never the check */
    }
  }

  private remember(key: string, v: Finding[]): void {
    this.mem.set(key, v);
    while (this.mem.size > this.maxMemory) {
      const oldest = this.mem.keys().next().value;
      if (oldest === undefined) break;
      this.mem.delete(oldest);
    }
    this.stats.entries = this.mem.size;
  }

  /** Keeps the disk cache bounded: drops the least recently written files beyond maxDisk. */
  private prune(): void {
    try {
      const files: Array<{ p: string; t: number }> = [];
      for (const sub of readdirSync(this.dir!)) {
        const d = join(this.dir!, sub);
        for (const f of readdirSync(d)) {
          const p = join(d, f);
          files.push({ p, t: statSync(p).mtimeMs });
        }
      }
      if (files.length <= this.maxDisk) return;
      files.sort((a, b) => a.t - b.t);
      for (const { p } of files.slice(0, files.length - this.maxDisk)) rmSync(p, { force: true });
    } catch {
      /* best effort */
    }
  }
}
