import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, commitAsync, daemonPid, daemonStarts, envFor, makeHome, stopDaemon, TestRepo, SQLI_PY, SAFE_PY } from '../helpers/repo.js';

/* The daemon's life and its guard: start lock, stale sockets, versions, token and Origin checks. */

const homes: string[] = [];
function home(): string {
  const h = makeHome();
  homes.push(h);
  return h;
}
afterEach(() => {
  for (const h of homes.splice(0)) stopDaemon(h);
});

function cli(h: string, args: string[], extra: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: envFor(h, extra), encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function connect(socket: string, headers: Record<string, string>): Promise<{ opened: boolean; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws+unix://${socket}:/`, { headers });
    ws.once('open', () => {
      ws.close();
      resolve({ opened: true });
    });
    ws.once('unexpected-response', (_req, res) => resolve({ opened: false, status: res.statusCode }));
    ws.once('error', () => resolve({ opened: false }));
  });
}

describe('daemon lifecycle', () => {
  it('two concurrent commits in two repos with no daemon running start exactly one daemon and both complete', async () => {
    const h = home();
    const a = new TestRepo(h);
    const b = new TestRepo(h);
    a.write('app.py', SAFE_PY);
    a.add('app.py');
    b.write('app.py', SQLI_PY);
    b.add('app.py');
    const [ra, rb] = await Promise.all([commitAsync(a, 'a'), commitAsync(b, 'b')]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code).toBe(1);
    expect(rb.stderr).toContain('CWE-89');
    expect(daemonStarts(h)).toBe(1);
    // The next commit is answered by the same, warm daemon.
    const pid = daemonPid(h);
    a.write('other.py', SAFE_PY);
    a.add('other.py');
    expect(a.commit('again').code).toBe(0);
    expect(daemonPid(h)).toBe(pid);
    expect(daemonStarts(h)).toBe(1);
  });

  it('refuses a wrong token and any Origin header; the state dir is 0700 and the token file 0600', async () => {
    const h = home();
    expect(cli(h, ['daemon', 'start']).code).toBe(0);
    const socket = join(h, 'daemon.sock');
    const token = readFileSync(join(h, 'token'), 'utf8').trim();
    expect(statSync(h).mode & 0o777).toBe(0o700);
    expect(statSync(join(h, 'token')).mode & 0o777).toBe(0o600);
    expect((await connect(socket, { 'x-reflexgen-token': 'f'.repeat(64) })).status).toBe(401);
    expect((await connect(socket, {})).status).toBe(401);
    expect((await connect(socket, { 'x-reflexgen-token': token, Origin: 'http://evil.example' })).status).toBe(403);
    expect((await connect(socket, { 'x-reflexgen-token': token })).opened).toBe(true);
  });

  it('a request before hello and a malformed message get JSON-RPC errors, not a crash', async () => {
    const h = home();
    cli(h, ['daemon', 'start']);
    const token = readFileSync(join(h, 'token'), 'utf8').trim();
    const ws = new WebSocket(`ws+unix://${join(h, 'daemon.sock')}:/`, { headers: { 'x-reflexgen-token': token } });
    await new Promise((r) => ws.once('open', r));
    const replies: Array<{ id: unknown; error?: { code: number } }> = [];
    ws.on('message', (d) => replies.push(JSON.parse(d.toString())));
    ws.send('not json');
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'status' }));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'hello', params: { protocolVersion: 999, clientVersion: 'x' } }));
    await new Promise((r) => setTimeout(r, 300));
    ws.close();
    expect(replies.map((r) => r.error?.code)).toEqual([-32700, -32001, -32000]);
    expect(cli(h, ['daemon', 'status']).stdout).toContain('running');
  });

  it('recovers after the daemon is killed with SIGKILL (stale socket and pid file left behind)', () => {
    const h = home();
    const repo = new TestRepo(h);
    expect(cli(h, ['daemon', 'start']).code).toBe(0);
    const pid = daemonPid(h)!;
    process.kill(pid, 'SIGKILL');
    spawnSync('sleep', ['0.2']);
    expect(existsSync(join(h, 'daemon.sock'))).toBe(true); // stale
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const r = repo.commit('after crash');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CWE-89');
    expect(daemonPid(h)).not.toBe(pid);
    expect(daemonStarts(h)).toBe(2);
  });

  it('honours failMode when the daemon cannot be started', () => {
    const h = home();
    const repo = new TestRepo(h);
    // A state "directory" that is a file: the daemon can never start there.
    const broken = join(h, 'not-a-dir');
    writeFileSync(broken, 'x');
    repo.write('app.py', SQLI_PY);
    repo.add('app.py');
    const open = repo.commit('fail open', { REFLEXGEN_HOME: broken });
    expect(open.code, open.stderr).toBe(0);
    expect(open.stderr).toContain('could not run');
    expect(open.stderr).toContain('failMode "open"');

    expect(repo.commitCount()).toBe(1);

    const strict = new TestRepo(h);
    strict.write('.reflexgenrc.json', JSON.stringify({ failMode: 'closed' }));
    strict.write('app.py', SAFE_PY);
    strict.add('app.py', '.reflexgenrc.json');
    const closed = strict.commit('fail closed', { REFLEXGEN_HOME: broken });
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain('failMode is "closed"');
    expect(strict.commitCount()).toBe(0);
  });

  it('restarts a daemon that runs another version', () => {
    const h = home();
    expect(cli(h, ['daemon', 'start'], { REFLEXGEN_BUILD_ID: 'older-build' }).code).toBe(0);
    const oldPid = daemonPid(h);
    const status = JSON.parse(cli(h, ['daemon', 'status', '--format', 'json'], { REFLEXGEN_BUILD_ID: 'older-build' }).stdout);
    expect(status.version).toContain('older-build');
    const repo = new TestRepo(h);
    repo.write('app.py', SAFE_PY);
    repo.add('app.py');
    expect(repo.commit('new client').code).toBe(0);
    const now = JSON.parse(cli(h, ['daemon', 'status', '--format', 'json']).stdout);
    expect(now.version).not.toContain('older-build');
    expect(now.pid).not.toBe(oldPid);
  });

  it('exits by itself after the configured idle time', async () => {
    const h = home();
    expect(cli(h, ['daemon', 'start'], { REFLEXGEN_IDLE_EXIT_MS: '500' }).code).toBe(0);
    const pid = daemonPid(h)!;
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
    expect(existsSync(join(h, 'daemon.sock'))).toBe(false);
  });

  it('daemon stop / status / restart report what they did', () => {
    const h = home();
    expect(cli(h, ['daemon', 'status']).stdout).toContain('not running');
    expect(cli(h, ['daemon', 'start']).stdout).toContain('running');
    const s = JSON.parse(cli(h, ['daemon', 'status', '--format', 'json']).stdout);
    expect(s.running).toBe(true);
    expect(s.stateDir).toBe(h);
    const r = cli(h, ['daemon', 'restart']);
    expect(r.stdout).toContain('restarted');
    expect(JSON.parse(cli(h, ['daemon', 'status', '--format', 'json']).stdout).pid).not.toBe(s.pid);
    expect(cli(h, ['daemon', 'stop']).stdout).toContain('stopped');
    expect(cli(h, ['daemon', 'status']).stdout).toContain('not running');
  });
});
