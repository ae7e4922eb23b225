import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, envFor, makeHome, stopDaemon, TestRepo, SQLI_PY, SAFE_PY } from '../helpers/repo.js';

/*
 * Analysis starts at `git add`: the daemon watches the index and HEAD of registered repos and
 * pre-analyzes the staged blobs, so the commit is answered from the cache.
 */

let home: string;
beforeAll(() => {
  home = makeHome();
});
afterAll(() => stopDaemon(home));

interface Status {
  watcher: { repos: number; queued: number; running: boolean; events: number; runs: number };
  cache: { hits: number; misses: number; analyzerRuns: number };
  repos: string[];
}

function status(): Status {
  const r = spawnSync(process.execPath, [CLI, 'daemon', 'status', '--format', 'json'], { env: envFor(home), encoding: 'utf8' });
  return JSON.parse(r.stdout) as Status;
}

/** Waits until the watcher has handled more than `after` index events and is idle. */
async function settled(after: number): Promise<Status> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = status();
    if (s.watcher.events > after && s.watcher.queued === 0 && !s.watcher.running) return s;
    if (Date.now() > deadline) throw new Error(`watcher did not settle: ${JSON.stringify(s.watcher)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('watcher and result cache', () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = new TestRepo(home);
    repo.write('app.py', SAFE_PY);
    repo.write('lib.py', 'def f():\n    return 1\n');
    repo.add('app.py', 'lib.py');
    repo.commit('initial'); // first check starts the daemon and registers the repo
  });

  it('init registered the repo and the daemon watches it', () => {
    expect(status().repos).toContain(repo.dir);
    expect(status().watcher.repos).toBeGreaterThanOrEqual(1);
  });

  it('a commit right after `git add` is answered from the cache: no analyzer runs at commit time', async () => {
    const before = status().watcher.events;
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const pre = await settled(before);
    const commit = repo.commit('vulnerable');
    expect(commit.code).toBe(1);
    expect(commit.stderr).toContain('CWE-89');
    const post = status();
    expect(post.cache.analyzerRuns).toBe(pre.cache.analyzerRuns);
    expect(post.cache.hits).toBeGreaterThan(pre.cache.hits);
  });

  it('sees git reset, git checkout -- file, branch switches and git stash, and ignores working-tree churn', async () => {
    let s = status();
    repo.git(['reset', '-q', 'app.py']);
    s = await settled(s.watcher.events);

    repo.write('lib.py', 'def f():\n    return 2\n');
    repo.add('lib.py');
    s = await settled(s.watcher.events);
    repo.git(['checkout', '-q', 'HEAD', '--', 'lib.py']);
    s = await settled(s.watcher.events);

    repo.git(['checkout', '-q', '-b', 'feature']);
    s = await settled(s.watcher.events);
    repo.git(['checkout', '-q', 'main']);
    s = await settled(s.watcher.events);

    repo.write('lib.py', 'def f():\n    return 3\n');
    repo.add('lib.py');
    s = await settled(s.watcher.events);
    expect(repo.git(['stash', '-q']).code).toBe(0);
    s = await settled(s.watcher.events);
    expect(repo.git(['stash', 'pop', '-q']).code).toBe(0);
    s = await settled(s.watcher.events);

    // Working-tree churn without staging: no index event, no analysis.
    const quiet = status();
    for (let i = 0; i < 5; i++) repo.write(`scratch-${i}.py`, SQLI_PY);
    repo.write('app.py', SQLI_PY + '\n# edited\n');
    await new Promise((r) => setTimeout(r, 1000));
    const after = status();
    expect(after.watcher.events).toBe(quiet.watcher.events);
    expect(after.cache.analyzerRuns).toBe(quiet.cache.analyzerRuns);
  });

  it('the cache survives a daemon restart', async () => {
    repo.write('cached.py', SQLI_PY.replace('subscriptions', 'members'));
    const s0 = status();
    repo.add('cached.py');
    await settled(s0.watcher.events);
    expect(spawnSync(process.execPath, [CLI, 'daemon', 'restart'], { env: envFor(home), encoding: 'utf8' }).status).toBe(0);
    const fresh = status();
    expect(fresh.cache.analyzerRuns).toBe(0);
    const out = repo.cli(['check', '--staged', '--format', 'json']);
    const result = JSON.parse(out.stdout);
    expect(result.findings.some((f: { file: string; cwe: string[] }) => f.file === 'cached.py' && f.cwe.includes('CWE-89'))).toBe(true);
    const bandit = result.analyzers.find((a: { id: string }) => a.id === 'bandit');
    expect(bandit.cached).toBe(bandit.files);
  });

  it('stops watching a repository that disappears', async () => {
    const gone = new TestRepo(home);
    gone.write('x.py', SAFE_PY);
    gone.add('x.py');
    gone.commit('x');
    expect(status().repos).toContain(gone.dir);
    gone.remove();
    const deadline = Date.now() + 10_000;
    while (status().repos.includes(gone.dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(status().repos).not.toContain(gone.dir);
  });
});
