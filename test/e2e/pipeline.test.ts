import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daemonPid, makeHome, runAsync, stopDaemon, TestRepo, UAF_C, type Run } from '../helpers/repo.js';

/*
 * The check path end to end with real git, the real hook, the real daemon and the real analyzers:
 * every analyzer sees its files on every check, and no copy of the staged code outlives a check,
 * not even one the daemon was killed in the middle of. The daemon gets a private TMPDIR so the
 * test can see every directory it creates; the watcher's debounce is set beyond the test's length
 * so no pre-analysis warms the cache.
 */

let home: string;
let tmp: string;
const extra = () => ({ TMPDIR: tmp, REFLEXGEN_WATCH_DEBOUNCE_MS: '600000', REFLEXGEN_NO_DISK_CACHE: '1' });
const REPEAT = Number(process.env.REFLEXGEN_E2E_REPEAT ?? 20);

const leftovers = () => readdirSync(tmp).filter((n) => n.startsWith('reflexgen-'));

function mixed(i: number): Record<string, string> {
  return {
    // Only bandit reports this one (B303/B324: MD5).
    'svc/hashing.py': `import hashlib\n\n\ndef digest_${i}(data):\n    return hashlib.md5(data + b"${i}").hexdigest()\n`,
    'native/uaf.c': UAF_C.replace('"hello"', `"hello ${i}"`),
    'web/run.js': `const { exec } = require('child_process');\nmodule.exports = (name) => exec('ls ' + name + ' ${i}');\n`,
  };
}

function commit(repo: TestRepo, msg: string): Promise<Run> {
  return runAsync('git', ['commit', '-q', '-m', msg], repo.dir, repo.env(extra()));
}

beforeAll(() => {
  home = makeHome();
  tmp = join(home, 'tmp');
  mkdirSync(tmp);
});
afterAll(() => {
  stopDaemon(home);
  // A stopped daemon may still be finishing a cache write: retry a directory that is not empty yet.
  rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('a mixed .py + .c + .js commit', () => {
  it(`reports every analyzer's findings on each of ${REPEAT} commits with fresh content and leaves no snapshot directory`, async () => {
    const repo = new TestRepo(home);
    repo.write('.reflexgenrc.json', JSON.stringify({ failMode: 'closed' }));
    repo.add('.reflexgenrc.json');
    repo.commitNoVerify('config');
    const missing: string[] = [];
    for (let i = 0; i < REPEAT; i++) {
      for (const [p, c] of Object.entries(mixed(i))) repo.write(p, c);
      repo.add('svc/hashing.py', 'native/uaf.c', 'web/run.js');
      const r = await runAsync(process.execPath, [join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js'), 'check', '--staged', '--format', 'json'], repo.dir, repo.env(extra()));
      const out = JSON.parse(r.stdout) as { verdict: string; findings: Array<{ tool: string; file: string; alsoReportedBy?: string[] }>; analyzers: Array<{ id: string; state: string; cached?: number }> };
      const tools = new Set(out.findings.flatMap((f) => [`${f.tool}:${f.file}`, ...(f.alsoReportedBy ?? []).map((t) => `${t}:${f.file}`)]));
      for (const want of ['bandit:svc/hashing.py', 'gcc:native/uaf.c', 'eslint:web/run.js']) {
        if (!tools.has(want)) missing.push(`check ${i}: ${want}`);
      }
      for (const a of out.analyzers) {
        // missing: a tool this machine lacks; skipped: CodeQL, on by default only where it is installed.
        if (a.state !== 'ok' && a.state !== 'missing' && a.state !== 'skipped') missing.push(`check ${i}: ${a.id} ${a.state}`);
        if (a.cached) missing.push(`check ${i}: ${a.id} answered ${a.cached} file(s) from the cache`);
      }
      expect(out.verdict).toBe('block');
      expect(leftovers()).toEqual([]);
    }
    expect(missing).toEqual([]);
    // And through the real hook: blocked, with bandit's finding in the report.
    const r = await commit(repo, 'mixed');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/svc\/hashing\.py:5 .*CWE-327/);
    expect(leftovers()).toEqual([]);
  }, 600_000);

  it('a kill -9 of the daemon mid-check leaves nothing behind once a daemon starts again', async () => {
    const repo = new TestRepo(home);
    for (const [p, c] of Object.entries(mixed(1000))) repo.write(p, c);
    repo.add('svc/hashing.py', 'native/uaf.c', 'web/run.js');
    const pending = commit(repo, 'to be interrupted');
    // Wait until the snapshot is on disk, then kill the daemon without a chance to clean up.
    const deadline = Date.now() + 60_000;
    while (!leftovers().some((n) => n.startsWith('reflexgen-snap-')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(leftovers().some((n) => n.startsWith('reflexgen-snap-'))).toBe(true);
    const pid = daemonPid(home)!;
    process.kill(pid, 'SIGKILL');
    const interrupted = await pending;
    expect(interrupted.stderr).toMatch(/could not run/);
    expect(leftovers().some((n) => n.startsWith(`reflexgen-snap-${pid}-`))).toBe(true); // the crash really left it

    // failMode open let that commit through unchecked (and said so); stage new content to check.
    for (const [p, c] of Object.entries(mixed(1001))) repo.write(p, c);
    repo.add('svc/hashing.py', 'native/uaf.c', 'web/run.js');
    const again = await commit(repo, 'after the crash');
    expect(again.code, again.stderr).toBe(1);
    expect(again.stderr).toMatch(/svc\/hashing\.py:5 .*CWE-327/);
    expect(daemonPid(home), again.stderr).not.toBe(pid);
    // Copies of staged code (snapshots, repair candidates) are gone; a tool's own scratch output may not be.
    expect(leftovers().filter((n) => n.startsWith('reflexgen-snap-') || n.startsWith('reflexgen-verify-'))).toEqual([]);
  }, 180_000);
});

describe('edges of the change', () => {
  const check = (repo: TestRepo) =>
    runAsync(process.execPath, [join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js'), 'check', '--staged', '--format', 'json'], repo.dir, repo.env(extra()));

  it('a file named ..app.py is analyzed like any other', async () => {
    const repo = new TestRepo(home, { init: false });
    repo.write('..app.py', mixed(1)['svc/hashing.py']);
    repo.add('..app.py');
    const out = JSON.parse((await check(repo)).stdout) as { findings: Array<{ tool: string; file: string }>; notices: string[] };
    expect(out.findings.some((f) => f.file === '..app.py' && f.tool === 'bandit')).toBe(true);
    expect(out.notices.join('\n')).not.toMatch(/unsafe|not analyzed/);
  }, 60_000);

  it('every tool\'s findings in test and example code are reported as notes that name the directory, and do not block', async () => {
    const repo = new TestRepo(home, { init: false });
    // bandit (MD5) and gcc (use after free) report these; neither knows what an examples/ directory is.
    repo.write('examples/hashing.py', mixed(3)['svc/hashing.py']);
    repo.write('tests/native/uaf.c', mixed(3)['native/uaf.c']);
    repo.add('examples/hashing.py', 'tests/native/uaf.c');
    const out = JSON.parse((await check(repo)).stdout) as { verdict: string; findings: Array<{ tool: string; file: string; severity: string; message: string; alsoReportedBy?: string[] }> };
    const by = (tool: string, file: string) => out.findings.filter((f) => f.file === file && (f.tool === tool || f.alsoReportedBy?.includes(tool)));
    expect(by('bandit', 'examples/hashing.py').length).toBeGreaterThan(0);
    expect(by('gcc', 'tests/native/uaf.c').length).toBeGreaterThan(0);
    for (const f of out.findings) {
      expect(f.severity).toBe('note');
      expect(f.message).toMatch(/^\[in test\/example code: (examples|tests)\/; would be (error|warning|note) elsewhere\]/);
    }
    expect(out.verdict).toBe('pass');
    // The same content outside those directories blocks.
    repo.write('svc/hashing.py', mixed(3)['svc/hashing.py']);
    repo.add('svc/hashing.py');
    expect((JSON.parse((await check(repo)).stdout) as { verdict: string }).verdict).toBe('block');
  }, 60_000);

  it('an upgraded RefleXGen never answers from results an older build cached on disk', async () => {
    const own = makeHome();
    try {
      const repo = new TestRepo(own, { init: false });
      repo.write('svc/hashing.py', mixed(4)['svc/hashing.py']);
      repo.add('svc/hashing.py');
      const as = async (build: string) => {
        // The disk cache on (unlike the other tests), and a daemon of the given build.
        const env = repo.env({ TMPDIR: tmp, REFLEXGEN_WATCH_DEBOUNCE_MS: '600000', REFLEXGEN_BUILD_ID: build });
        const r = await runAsync(process.execPath, [join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js'), 'check', '--staged', '--format', 'json'], repo.dir, env);
        const out = JSON.parse(r.stdout) as { analyzers: Array<{ id: string; cached?: number }> };
        return out.analyzers.find((a) => a.id === 'builtin')?.cached ?? 0;
      };
      expect(await as('build-a')).toBe(0);
      stopDaemon(own);
      // Same build after a restart: answered from disk.
      expect(await as('build-a')).toBe(1);
      stopDaemon(own);
      // Another build: analyzed again.
      expect(await as('build-b')).toBe(0);
    } finally {
      stopDaemon(own);
      rmSync(own, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    }
  }, 90_000);

  it('a staged file above maxFileBytes is not analyzed and counts under failMode', async () => {
    const repo = new TestRepo(home, { init: false });
    repo.write('.reflexgenrc.json', JSON.stringify({ failMode: 'closed', maxFileBytes: 100_000 }));
    repo.write('big.py', '# padding\n'.repeat(20_000) + mixed(2)['svc/hashing.py']);
    repo.add('.reflexgenrc.json', 'big.py');
    const closed = JSON.parse((await check(repo)).stdout) as { verdict: string; notices: string[]; notAnalyzed: Array<{ path: string }> };
    expect(closed.verdict).toBe('block');
    expect(closed.notAnalyzed.map((n) => n.path)).toEqual(['big.py']);
    expect(closed.notices.join('\n')).toMatch(/big\.py: not analyzed: .* above the .* limit \(maxFileBytes\)/);
    repo.write('.reflexgenrc.json', JSON.stringify({ failMode: 'open', maxFileBytes: 100_000 }));
    repo.add('.reflexgenrc.json');
    const open = JSON.parse((await check(repo)).stdout) as { verdict: string };
    expect(open.verdict).toBe('warn');
    // Under the default limit (2 MiB) the same file is analyzed and bandit's finding blocks.
    repo.write('.reflexgenrc.json', JSON.stringify({ failMode: 'open' }));
    repo.add('.reflexgenrc.json');
    const analyzed = JSON.parse((await check(repo)).stdout) as { verdict: string; findings: Array<{ file: string; tool: string }> };
    expect(analyzed.findings.some((f) => f.file === 'big.py' && f.tool === 'bandit')).toBe(true);
  }, 60_000);

  it('a file staged while the hook runs blocks the commit with one line', async () => {
    const repo = new TestRepo(home);
    for (const [p, c] of Object.entries(mixed(3000))) repo.write(p, c);
    repo.add('svc/hashing.py', 'native/uaf.c', 'web/run.js');
    repo.write('late.py', 'import os\nos.system(input())\n');
    const running = commit(repo, 'racing');
    const deadline = Date.now() + 60_000;
    while (!leftovers().some((n) => n.startsWith('reflexgen-snap-')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    repo.add('late.py');
    const r = await running;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the index changed during the check; commit again');
    expect(repo.commitCount()).toBe(0);
  }, 120_000);
});

describe('reflexgen baseline', () => {
  it('records the external analyzers findings (bandit, gcc, cppcheck), not only the built-in rules', async () => {
    const repo = new TestRepo(home, { init: false });
    for (const [p, c] of Object.entries(mixed(7))) repo.write(p, c);
    repo.write('native/leak.c', '#include <stdlib.h>\nint f(void) {\n  char *p = malloc(10);\n  return p[10];\n}\n');
    repo.add('svc/hashing.py', 'native/uaf.c', 'native/leak.c', 'web/run.js');
    repo.commitNoVerify('legacy');
    const r = await runAsync(process.execPath, [join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js'), 'baseline', '--format', 'json'], repo.dir, repo.env(extra()));
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { analyzers: Array<{ id: string; state: string }> };
    for (const id of ['bandit', 'gcc', 'cppcheck']) expect(summary.analyzers.find((a) => a.id === id)?.state).toBe('ok');
    const baseline = JSON.parse(readFileSync(join(repo.dir, '.reflexgen', 'baseline.json'), 'utf8')) as { entries: Array<{ tool: string; file: string }> };
    expect(baseline.entries.some((e) => e.file === 'svc/hashing.py')).toBe(true); // bandit alone reports it
    expect(leftovers()).toEqual([]);
    // The same command in process, to see which tool reported what before fingerprints merge them.
    const { runBaseline } = await import('../../cli/baseline.js');
    const again = await runBaseline(repo.dir);
    const tools = new Set(again.findings.map((f) => f.tool));
    for (const t of ['bandit', 'gcc', 'cppcheck']) expect(tools).toContain(t);
  }, 120_000);
});
