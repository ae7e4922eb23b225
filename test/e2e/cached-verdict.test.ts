import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, CLI, ROOT, SAFE_PY, SQLI_PY, envFor, makeHome, stopDaemon, TestRepo } from '../helpers/repo.js';

/*
 * The hook's first question: a verdict the daemon worked out since `git add` answers the commit,
 * with no git process in the hook. Each test below is a way a remembered verdict could answer for
 * a commit it was not worked out for, and must not.
 */

interface Status {
  watcher: { queued: number; running: boolean; events: number };
  verdicts: { hits: number; misses: number; entries: number };
  checks: { done: number };
}

function status(home: string): Status {
  const r = spawnSync(process.execPath, [CLI, 'daemon', 'status', '--format', 'json'], { env: envFor(home), encoding: 'utf8' });
  return JSON.parse(r.stdout) as Status;
}

/** Waits until the watcher has handled an index event after `events` and is idle. */
async function settled(home: string, events: number): Promise<Status> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = status(home);
    if (s.watcher.events > events && s.watcher.queued === 0 && !s.watcher.running) return s;
    if (Date.now() > deadline) throw new Error(`watcher did not settle: ${JSON.stringify(s.watcher)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const HOOK = join(ROOT, 'dist', 'hook', 'hook.cjs');

/** A repository with `reflexgen init` and one commit, so that later commits have a HEAD to differ from. */
function repoWithHistory(home: string): TestRepo {
  const repo = new TestRepo(home);
  repo.write('README.md', 'x\n');
  repo.add('README.md');
  repo.commitNoVerify('initial');
  return repo;
}

describe('the verdict remembered since `git add`', () => {
  let home: string;
  beforeAll(() => {
    home = makeHome();
    // Running before any repository: `reflexgen init` then registers each one with it.
    const d = spawnSync(process.execPath, [CLI, 'daemon', 'start'], { env: envFor(home), encoding: 'utf8' });
    if (d.status !== 0) throw new Error(`daemon start: ${d.stderr}`);
  });
  afterAll(() => stopDaemon(home));

  it('answers the commit, and the hook runs no git process for it', async () => {
    const repo = repoWithHistory(home);
    repo.write('app.py', SAFE_PY);
    repo.add('app.py');
    expect(repo.commit('first').code).toBe(0);

    const events = status(home).watcher.events;
    repo.write('app.py', `${SAFE_PY}\n# another safe line\n`);
    repo.add('app.py');
    const s0 = await settled(home, events);
    expect(s0.verdicts.entries).toBeGreaterThan(0);

    // The hook as git runs it, with a `git` on PATH that records each call.
    const bin = mkdtempSync(join(tmpdir(), 'rx-gitlog-'));
    const log = join(bin, 'calls');
    writeFileSync(join(bin, 'git'), `#!/bin/sh\necho "$*" >> "${log}"\nexec /usr/bin/git "$@"\n`);
    chmodSync(join(bin, 'git'), 0o755);
    try {
      const hook = spawnSync(process.execPath, [HOOK], { cwd: repo.dir, encoding: 'utf8', env: repo.env({ PATH: `${bin}:${process.env.PATH}` }) });
      expect(hook.status, hook.stderr).toBe(0);
      expect(hook.stderr).toContain('verdict known since `git add`');
      expect(existsSync(log) ? readFileSync(log, 'utf8') : '').toBe('');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
    expect(status(home).verdicts.hits).toBe(s0.verdicts.hits + 1);

    // `reflexgen check --staged` (the pre-commit framework's entry) asks the same first question.
    const cli = spawnSync(process.execPath, [BIN, 'check', '--staged'], { cwd: repo.dir, encoding: 'utf8', env: repo.env() });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('verdict known since `git add`');
    expect(status(home).verdicts.hits).toBe(s0.verdicts.hits + 2);

    // `git commit` rewrites the index (stat data, cache tree) before the hook runs: still a hit.
    const c = repo.commit('second');
    expect(c.code, c.stderr).toBe(0);
    expect(status(home).verdicts.hits).toBe(s0.verdicts.hits + 3);
  });

  it('is not used after `git reset --soft` moves HEAD under the same index', async () => {
    const repo = repoWithHistory(home);
    // A vulnerable file already committed is pre-existing: a commit that does not touch it passes.
    repo.write('db.py', SQLI_PY);
    repo.add('db.py');
    repo.commitNoVerify('vulnerable, committed without the gate');
    repo.write('lib.py', 'def f():\n    return 1\n');
    repo.add('lib.py');
    const events = status(home).watcher.events;
    expect(repo.commit('unrelated').code).toBe(0);
    // HEAD back before the vulnerable commit: the same index now adds db.py.
    repo.git(['reset', '-q', '--soft', 'HEAD~2']);
    await settled(home, events);
    const r = repo.commit('everything');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('CWE-89');
  });

  it('is not used once the repository config changes', async () => {
    const repo = new TestRepo(home);
    repo.write('.reflexgenrc.json', JSON.stringify({ exclude: ['app.py'] }));
    repo.add('.reflexgenrc.json');
    repo.commitNoVerify('config');
    const events = status(home).watcher.events;
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const s0 = await settled(home, events);
    const excluded = spawnSync(process.execPath, [HOOK], { cwd: repo.dir, encoding: 'utf8', env: repo.env() });
    expect(excluded.status, excluded.stderr).toBe(0);
    expect(status(home).verdicts.hits).toBe(s0.verdicts.hits + 1);
    // The policy changes in the working tree only: the index, and so the remembered key, does not.
    repo.write('.reflexgenrc.json', JSON.stringify({ exclude: [] }));
    const blocked = repo.commit('now checked');
    expect(blocked.code, blocked.stderr).toBe(1);
    expect(blocked.stderr).toContain('CWE-89');
  });

  it('a daemon first started by `git commit -a` checks later commits of another repository against their own index', async () => {
    const own = makeHome();
    try {
      const first = new TestRepo(own);
      first.write('lib.py', 'def f():\n    return 1\n');
      first.add('lib.py');
      first.commitNoVerify('initial');
      const other = repoWithHistory(own); // registered now, watched by the daemon the next commit starts

      // git runs this hook with GIT_INDEX_FILE=<first>/.git/index.lock; the daemon starts from it.
      first.write('lib.py', 'def f():\n    return 2\n');
      const a = first.git(['commit', '-q', '-a', '-m', 'all']);
      expect(a.code, a.stderr).toBe(0);

      const events = status(own).watcher.events;
      other.write('app.py', SQLI_PY);
      other.add('app.py');
      await settled(own, events);
      const r = other.commit('vulnerable');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('CWE-89');
    } finally {
      stopDaemon(own);
    }
  });
});
