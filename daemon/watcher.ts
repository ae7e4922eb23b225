import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { sameIdentity } from '../shared/index-identity.js';
import { rememberedLlmEnv } from './review/stage.js';
import { readRepos, writeRepos, addRepo, type RepoEntry } from '../shared/repos.js';
import { stagedChanges } from '../shared/staged.js';
import type { DaemonContext, RequestContext } from './handlers/types.js';
import { checkChange } from './pipeline/check.js';
import { getVerdictMemo, identityOf, memoizable, memoKey, policyFingerprint } from './pipeline/verdict-memo.js';

/*
 * Starts analysis at `git add`: watches each registered repo's index and HEAD (inside the real
 * git dir, so worktrees and submodules work) — never the working tree, so a huge monorepo costs
 * nothing — and pre-analyzes the staged blobs in the background, one job at a time, so the commit
 * that follows is answered from the cache. A newer index state cancels the running job.
 * Changes to the repo's config and team knowledge file are reported to listeners.
 */

export interface WatcherStats {
  repos: number;
  queued: number;
  running: boolean;
  /** Index/HEAD changes seen (after debouncing). */
  events: number;
  /** Background pre-analysis jobs completed. */
  runs: number;
  lastError?: string;
}

type Listener = (repoRoot: string, file: 'config' | 'knowledge') => void;

const DEBOUNCE_MS = Number(process.env.REFLEXGEN_WATCH_DEBOUNCE_MS ?? 150);

export class RepoWatcher {
  private watchers = new Map<string, { entry: RepoEntry; fs: FSWatcher; timer?: NodeJS.Timeout }>();
  private queue: RepoEntry[] = [];
  private running?: { root: string; abort: AbortController };
  private listeners: Listener[] = [];
  readonly stats: WatcherStats = { repos: 0, queued: 0, running: false, events: 0, runs: 0 };

  constructor(private readonly daemon: DaemonContext) {}

  /** Resumes watching the repos registered in earlier daemon lives. */
  loadPersisted(): void {
    for (const r of readRepos(this.daemon.stateDir)) this.watch(r, false);
  }

  onFileChange(l: Listener): void {
    this.listeners.push(l);
  }

  watch(entry: RepoEntry, persist = true): void {
    if (this.watchers.has(entry.root)) return;
    if (!existsSync(entry.gitDir)) return;
    if (persist) addRepo(this.daemon.stateDir, entry);
    const interesting = new Set([join(entry.gitDir, 'index'), join(entry.gitDir, 'HEAD')]);
    const configFile = join(entry.root, '.reflexgenrc.json');
    const teamFile = join(entry.root, '.reflexgen', 'knowledge.jsonl');
    const fsw = watch([entry.gitDir, configFile, teamFile], {
      ignoreInitial: true,
      depth: 0,
      // Only the index and HEAD inside the git dir; objects/, refs/ and logs/ churn on every commit.
      ignored: (p: string) => p !== entry.gitDir && p.startsWith(entry.gitDir) && !interesting.has(p),
    });
    const onEvent = (p: string) => {
      if (p === configFile) return this.listeners.forEach((l) => l(entry.root, 'config'));
      if (p === teamFile) return this.listeners.forEach((l) => l(entry.root, 'knowledge'));
      if (!interesting.has(p)) return;
      const w = this.watchers.get(entry.root);
      if (!w) return;
      if (w.timer) clearTimeout(w.timer);
      w.timer = setTimeout(() => {
        this.stats.events++;
        this.enqueue(entry);
      }, DEBOUNCE_MS);
    };
    fsw.on('add', onEvent).on('change', onEvent).on('unlink', (p) => {
      if (p === join(entry.gitDir, 'index') && !existsSync(entry.gitDir)) this.unwatch(entry.root);
    });
    fsw.on('error', (err) => this.daemon.log.warn({ err, repo: entry.root }, 'watcher error'));
    this.watchers.set(entry.root, { entry, fs: fsw });
    this.stats.repos = this.watchers.size;
    this.daemon.repos.add(entry.root);
  }

  unwatch(root: string): void {
    const w = this.watchers.get(root);
    if (!w) return;
    if (w.timer) clearTimeout(w.timer);
    void w.fs.close();
    this.watchers.delete(root);
    this.queue = this.queue.filter((q) => q.root !== root);
    if (this.running?.root === root) this.running.abort.abort();
    writeRepos(this.daemon.stateDir, readRepos(this.daemon.stateDir).filter((r) => r.root !== root));
    this.daemon.repos.delete(root);
    this.stats.repos = this.watchers.size;
    this.daemon.log.info({ repo: root }, 'stopped watching');
  }

  private enqueue(entry: RepoEntry): void {
    if (this.running?.root === entry.root) this.running.abort.abort(); // superseded by a newer index
    if (!this.queue.some((q) => q.root === entry.root)) this.queue.push(entry);
    this.stats.queued = this.queue.length;
    void this.drain();
  }

  /** Resolves when nothing is queued or running (tests and benchmarks wait on it). */
  async idle(): Promise<void> {
    while (this.queue.length || this.running) await new Promise((r) => setTimeout(r, 20));
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    const entry = this.queue.shift();
    this.stats.queued = this.queue.length;
    if (!entry) return;
    const abort = new AbortController();
    this.running = { root: entry.root, abort };
    this.stats.running = true;
    try {
      await this.preAnalyze(entry, abort.signal);
      if (!abort.signal.aborted) this.stats.runs++;
    } catch (err) {
      if (!abort.signal.aborted) {
        this.stats.lastError = (err as Error).message;
        this.daemon.log.warn({ err, repo: entry.root }, 'pre-analysis failed');
      }
    } finally {
      this.running = undefined;
      this.stats.running = false;
      void this.drain();
    }
  }

  /*
   * The same check the hook would ask for, with the model variables the repository's last check
   * brought (the daemon's own are never used), minus guidance and repair: those wait for the commit.
   * A final answer is remembered under the index's content identity, read before and after, so the
   * commit that follows is one lookup.
   */
  private async preAnalyze(entry: RepoEntry, signal: AbortSignal): Promise<void> {
    if (!existsSync(entry.gitDir)) return this.unwatch(entry.root);
    // Mid-rebase or mid-merge states are fine to skip: the hook's own check will run.
    if (existsSync(join(entry.gitDir, 'index.lock'))) return;
    const indexFile = join(entry.gitDir, 'index');
    const before = identityOf(entry.gitDir, indexFile);
    const policy = before ? await policyFingerprint(entry.root, this.daemon.stateDir).catch(() => undefined) : undefined;
    const changes = await stagedChanges(entry.root);
    if (signal.aborted || changes.length === 0) return;
    const remembered = rememberedLlmEnv(entry.root);
    const llmEnv = remembered ?? {};
    const ctx: RequestContext = { daemon: this.daemon, requestId: 'watcher', progress: () => undefined, signal };
    const { result, complete } = await checkChange({ repoRoot: entry.root, gitDir: entry.gitDir, mode: 'staged', files: changes, llmEnv }, ctx, {
      guideAndRepair: false,
      review: remembered !== undefined,
    });
    if (!complete || !before || !policy || signal.aborted || !memoizable(result)) return;
    const after = identityOf(entry.gitDir, indexFile);
    if (!after || !sameIdentity(before, after)) return;
    if ((await policyFingerprint(entry.root, this.daemon.stateDir).catch(() => undefined)) !== policy) return;
    getVerdictMemo(this.daemon).set(memoKey(entry.root, entry.gitDir, after, llmEnv), policy, result);
  }

  async close(): Promise<void> {
    this.running?.abort.abort();
    this.queue = [];
    await Promise.all([...this.watchers.values()].map((w) => (w.timer && clearTimeout(w.timer), w.fs.close())));
    this.watchers.clear();
  }
}

export function getWatcher(daemon: DaemonContext): RepoWatcher {
  let w = daemon.services.watcher;
  if (!w) {
    w = new RepoWatcher(daemon);
    daemon.services.watcher = w;
  }
  return w;
}
