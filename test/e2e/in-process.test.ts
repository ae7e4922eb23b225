import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync, daemonStarts, makeHome, SAFE_PY, SQLI_PY, stopDaemon, TestRepo } from '../helpers/repo.js';
import { chooseCheckMode } from '../../cli/check-mode.js';

/*
 * `reflexgen check --no-daemon` (and CI by default): the daemon's check pipeline in the CLI
 * process. A real repository with a committed SQL injection, the real analyzers, and proof that
 * nothing of the daemon (socket, token, pid file, process) was created.
 */

let home: string;
beforeAll(() => {
  home = makeHome();
});
afterAll(() => stopDaemon(home));

/** A repository whose main branch already holds a SQL injection; no hook installed. */
function committedSqli(h = home): TestRepo {
  const repo = new TestRepo(h, { init: false });
  repo.write('app.py', SQLI_PY);
  repo.add('app.py');
  repo.commitNoVerify('a known issue');
  return repo;
}

function noDaemonTrace(h: string): void {
  for (const f of ['daemon.sock', 'daemon.pid', 'token']) expect(existsSync(join(h, f)), f).toBe(false);
  expect(daemonStarts(h)).toBe(0);
}

describe('check in process', () => {
  it('blocks a committed SQL injection with --all --no-daemon and leaves no daemon behind', async () => {
    const h = makeHome();
    const repo = committedSqli(h);
    const r = await cliAsync(repo, ['check', '--all', '--no-daemon'], { CI: '' });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('app.py:9');
    expect(r.stdout).toContain('CWE-89');
    expect(r.stdout).toContain('reflexgen: check failed');
    noDaemonTrace(h);
    // The run logged to the state dir like the daemon does, marked as in-process.
    expect(readFileSync(join(h, 'daemon.log'), 'utf8')).toContain('"inProcess":true');
    // A clean tree passes the same way.
    repo.write('app.py', SAFE_PY);
    repo.add('app.py');
    repo.commitNoVerify('fixed');
    const ok = await cliAsync(repo, ['check', '--all', '--no-daemon'], { CI: '' });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    noDaemonTrace(h);
  });

  it('is the default when CI is set, and gives the daemon\'s answer', async () => {
    const h = makeHome();
    const repo = committedSqli(h);
    // The repository's policy applies (a rule switch), and its untrusted sensitive settings are named, not used.
    repo.write('.reflexgenrc.json', JSON.stringify({ rules: { 'py/sql-injection': false }, llm: { baseURL: 'http://127.0.0.1:9/v1', model: 'x' } }));
    const inCi = await cliAsync(repo, ['check', '--all', '--format', 'json'], { CI: 'true' });
    noDaemonTrace(h);
    const viaDaemon = await cliAsync(repo, ['check', '--all', '--format', 'json'], { CI: 'true', REFLEXGEN_DAEMON: '1' });
    try {
      expect(daemonStarts(h)).toBe(1);
      expect(inCi.code).toBe(viaDaemon.code);
      const a = JSON.parse(inCi.stdout);
      const b = JSON.parse(viaDaemon.stdout);
      expect(a.verdict).toBe(b.verdict);
      expect(a.findings).toEqual(b.findings);
      expect(a.notices).toEqual(b.notices);
      expect(a.analyzers.map((s: { id: string; state: string }) => `${s.id}:${s.state}`)).toEqual(b.analyzers.map((s: { id: string; state: string }) => `${s.id}:${s.state}`));
      // bandit's B608 still finds it after the built-in rule was switched off; the llm setting is not applied.
      expect(a.findings.map((f: { tool: string }) => f.tool)).not.toContain('builtin');
      expect(a.notices.join('\n')).toContain('reflexgen trust');
    } finally {
      stopDaemon(h);
    }
  });

  it('follows failMode when the check cannot run in process', async () => {
    const h = makeHome();
    const repo = committedSqli(h);
    // A state dir that is a file: the check cannot run (the daemon could not either).
    const broken = join(h, 'not-a-dir');
    writeFileSync(broken, '');
    const open = await cliAsync(repo, ['check', '--all', '--no-daemon'], { REFLEXGEN_HOME: broken });
    expect(open.code, open.stderr).toBe(0);
    expect(open.stderr).toContain('could not run');
    expect(open.stderr).toContain('check allowed (failMode "open")');
    repo.write('.reflexgenrc.json', JSON.stringify({ failMode: 'closed' }));
    const closed = await cliAsync(repo, ['check', '--all', '--no-daemon'], { REFLEXGEN_HOME: broken });
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain('failMode is "closed"');
  });
});

describe('choosing daemon or in-process', () => {
  it('takes the flag, then REFLEXGEN_DAEMON, then CI', () => {
    expect(chooseCheckMode(undefined, {}).inProcess).toBe(false);
    expect(chooseCheckMode(false, {}).inProcess).toBe(true);
    expect(chooseCheckMode(true, { CI: 'true' }).inProcess).toBe(false);
    expect(chooseCheckMode(undefined, { CI: 'true' }).inProcess).toBe(true);
    expect(chooseCheckMode(undefined, { CI: '1' }).inProcess).toBe(true);
    expect(chooseCheckMode(undefined, { CI: 'false' }).inProcess).toBe(false);
    expect(chooseCheckMode(undefined, { CI: '' }).inProcess).toBe(false);
    expect(chooseCheckMode(undefined, { CI: 'true', REFLEXGEN_DAEMON: '1' }).inProcess).toBe(false);
    expect(chooseCheckMode(undefined, { REFLEXGEN_DAEMON: '0' }).inProcess).toBe(true);
    expect(chooseCheckMode(false, { REFLEXGEN_DAEMON: 'true' }).inProcess).toBe(true);
  });
});
