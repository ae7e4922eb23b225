import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// The client needs the validators the build generates: use the built module, typed by its source.
import type * as ClientModule from '../../hook/client.js';
const BUILT_CLIENT = '../../dist/hook/client.js';
const { connectDaemon } = (await import(BUILT_CLIENT)) as typeof ClientModule;
import { socketAlive } from '../../daemon/server.js';
import { CLI, commitAsync, daemonPid, envFor, makeHome, SQLI_PY, stopDaemon, TestRepo } from '../helpers/repo.js';
import { rawConnect, textFrame } from '../helpers/raw-ws.js';

/*
 * A daemon on its way out waits for its clients' close handshakes. Meanwhile it must not be
 * reachable (a new client must find no daemon and start one, not get a plain-HTTP refusal), and
 * when it finally exits it must not remove the socket and pid file of the daemon that started
 * in the meantime. A raw peer that never answers the close frame holds the old daemon in between.
 */

const home = makeHome();
afterAll(() => stopDaemon(home));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: envFor(home), encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('a stopping daemon', () => {
  it('stops listening at once, and leaves the next daemon its socket and pid file', async () => {
    expect(cli(['daemon', 'start']).code).toBe(0);
    const socket = join(home, 'daemon.sock');
    const token = readFileSync(join(home, 'token'), 'utf8').trim();
    const oldPid = daemonPid(home)!;
    const c = await connectDaemon({ env: envFor(home), start: false, client: 'test' });
    const protocolVersion = c.hello!.protocolVersion;
    c.close();

    const peer = await rawConnect(socket, { 'x-reflexgen-token': token });
    peer.write(textFrame(JSON.stringify({ jsonrpc: '2.0', id: 'h', method: 'hello', params: { protocolVersion, clientVersion: 'test', client: 'test' } })));
    expect(await peer.waitFor((m) => m.id === 'h')).toBeDefined();
    peer.write(textFrame(JSON.stringify({ jsonrpc: '2.0', id: 'bye', method: 'shutdown' })));
    // The daemon sends its close frame; the peer never answers it, so the daemon keeps waiting.
    for (let i = 0; i < 100 && peer.closeCode === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    expect(peer.closeCode).toBe(1001);

    expect(await socketAlive(socket)).toBe(false);
    expect(existsSync(`/proc/${oldPid}`)).toBe(true);

    // A new daemon starts on the same paths while the old one is still there.
    const started = cli(['daemon', 'start']);
    expect(started.code, started.stderr).toBe(0);
    const newPid = daemonPid(home)!;
    expect(newPid).not.toBe(oldPid);

    // Let the old daemon finish: it exits and leaves the new daemon's files alone.
    peer.destroy();
    for (let i = 0; i < 200 && existsSync(`/proc/${oldPid}`) && !readFileSync(`/proc/${oldPid}/stat`, 'utf8').includes(') Z'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(existsSync(socket)).toBe(true);
    expect(daemonPid(home)).toBe(newPid);
    const s = cli(['daemon', 'status']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain(String(newPid));
  }, 120_000);

  it('one that answers HTTP 426 (no longer taking upgrades) is replaced by the next commit, not reported as unavailable', async () => {
    const own = makeHome();
    const socket = join(own, 'daemon.sock');
    const repo = new TestRepo(own);
    try {
      // What a daemon on its way out still says to a new connection: plain HTTP, no upgrade.
      writeFileSync(join(own, 'token'), 'b'.repeat(64) + '\n', { mode: 0o600 });
      const old = process.umask(0o077);
      const leaving = createServer((s) => {
        s.on('error', () => undefined);
        s.once('data', () => s.end('HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'));
      });
      await new Promise<void>((r) => leaving.listen(socket, r));
      process.umask(old);
      try {
        repo.write('app.py', SQLI_PY);
        repo.add('app.py');
        const r = await commitAsync(repo, 'vulnerable');
        expect(r.stderr).not.toContain('could not run');
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain('CWE-89');
      } finally {
        leaving.close();
      }
    } finally {
      stopDaemon(own);
      repo.remove();
    }
  }, 120_000);
});
