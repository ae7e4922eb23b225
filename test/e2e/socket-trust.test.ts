import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CLI, daemonPid, envFor, makeHome, SAFE_PY, stopDaemon, TestRepo } from '../helpers/repo.js';

/*
 * Who the client trusts with its token. Another local user who can stand in for the daemon's
 * socket (pre-create its directory, loosen it, own it) gets nothing: a fake server listening where
 * the daemon would records every byte it receives, and must receive none. A control run in which
 * everything is the user's own proves the same fake server does receive the token otherwise.
 */

const isRoot = process.getuid?.() === 0;
// Several real CLI runs and commits per test: on a loaded 2-core machine that is more than the
// default minute.
const SLOW = 180_000;
const NOBODY = 65534;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      c();
    } catch {
      /* best effort */
    }
  }
});

function cli(home: string, args: string[], extra: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: envFor(home, extra), encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function home(): string {
  const h = makeHome();
  cleanups.push(() => {
    stopDaemon(h);
    rmSync(h, { recursive: true, force: true });
  });
  return h;
}

interface FakeDaemon {
  server: Server;
  connections: number;
  received: () => string;
}

/** A plain listener where the daemon's socket would be: records whatever a client sends. */
async function fakeDaemon(socket: string): Promise<FakeDaemon> {
  let data = '';
  const fake: FakeDaemon = {
    server: createServer((s) => {
      fake.connections++;
      s.on('data', (c) => (data += c.toString('latin1')));
      s.on('error', () => undefined);
    }),
    connections: 0,
    received: () => data,
  };
  // umask 077: the socket itself is private, so only the directory or token decide.
  const old = process.umask(0o077);
  try {
    await new Promise<void>((r) => fake.server.listen(socket, r));
  } finally {
    process.umask(old);
  }
  cleanups.push(() => fake.server.close());
  return fake;
}

function writeToken(h: string, mode = 0o600): string {
  const token = 'a'.repeat(64);
  writeFileSync(join(h, 'token'), token + '\n', { mode });
  chmodSync(join(h, 'token'), mode);
  return token;
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 200));
}

function repoIn(h: string, failMode?: 'open' | 'closed'): TestRepo {
  const repo = new TestRepo(h);
  cleanups.push(() => repo.remove());
  if (failMode) {
    repo.write('.reflexgenrc.json', JSON.stringify({ failMode }));
    repo.add('.reflexgenrc.json');
    repo.commitNoVerify('config');
  }
  repo.write('app.py', SAFE_PY);
  repo.add('app.py');
  return repo;
}

describe('the client checks the socket, its directory and the token file before it sends anything', () => {
  it('control: with everything private and the user\'s own, a listener at the socket does receive the token', async () => {
    const h = home();
    const token = writeToken(h);
    const fake = await fakeDaemon(join(h, 'daemon.sock'));
    const r = cli(h, ['daemon', 'status']);
    await settle();
    expect(fake.connections).toBeGreaterThan(0);
    expect(fake.received()).toContain(`x-reflexgen-token: ${token}`);
    expect(r.stdout).toContain('not running'); // it never answered the handshake
  });

  it('a socket directory with mode 0755: refused in one line before connecting (CLI exit 2; hook follows failMode)', async () => {
    const h = home();
    const open = repoIn(h, 'open');
    const closed = repoIn(h, 'closed');
    writeToken(h);
    const fake = await fakeDaemon(join(h, 'daemon.sock'));
    chmodSync(h, 0o755);

    const r = cli(h, ['daemon', 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`refusing state directory ${h}: mode 0755 lets other users in`);
    expect(r.stderr).toContain('chmod 700');
    expect(cli(h, ['daemon', 'start']).code).toBe(2);

    const ro = open.commit('open');
    expect(ro.code, ro.stderr).toBe(0);
    expect(ro.stderr).toContain('refusing state directory');
    expect(ro.stderr).toContain('commit allowed (failMode "open")');
    const rc = closed.commit('closed');
    expect(rc.code).toBe(1);
    expect(rc.stderr).toContain('refusing state directory');
    expect(rc.stderr).toContain('failMode is "closed"');

    await settle();
    expect(fake.connections).toBe(0);
    expect(fake.received()).toBe('');
    expect(statSync(h).mode & 0o777).toBe(0o755); // never chmod-ed
  }, SLOW);

  it.skipIf(!isRoot)('a socket directory owned by another user (nobody): refused, nothing sent', async () => {
    const h = home();
    writeToken(h);
    const fake = await fakeDaemon(join(h, 'daemon.sock'));
    chownSync(h, NOBODY, NOBODY);
    const r = cli(h, ['daemon', 'status', '--format', 'json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`refusing state directory ${h}: it belongs to uid ${NOBODY}, not to you (uid 0)`);
    const s = cli(h, ['daemon', 'start']);
    expect(s.code).toBe(2);
    await settle();
    expect(fake.connections).toBe(0);
    expect(statSync(h).uid).toBe(NOBODY);
  });

  it.skipIf(!isRoot)('a socket owned by another user, or a socket dir that is a symlink: refused, nothing sent', async () => {
    const h = home();
    writeToken(h);
    const fake = await fakeDaemon(join(h, 'daemon.sock'));
    chownSync(join(h, 'daemon.sock'), NOBODY, NOBODY);
    const r = cli(h, ['daemon', 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`refusing socket ${join(h, 'daemon.sock')}: it belongs to uid ${NOBODY}`);

    const link = join(tmpdir(), `rxl-${process.pid}`);
    symlinkSync(h, link);
    cleanups.push(() => rmSync(link, { force: true }));
    const viaLink = spawnSync(process.execPath, [CLI, 'daemon', 'status'], { env: envFor(link), encoding: 'utf8' });
    expect(viaLink.status).toBe(2);
    expect(viaLink.stderr).toContain('is a symbolic link');
    await settle();
    expect(fake.connections).toBe(0);
  });

  it('a token file with mode 0644, owned by someone else, or a symlink: refused, nothing sent, never chmod-ed', async () => {
    const h = home();
    writeToken(h, 0o644);
    const fake = await fakeDaemon(join(h, 'daemon.sock'));
    const r = cli(h, ['daemon', 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`refusing token file ${join(h, 'token')}: mode 0644 is not 0600`);
    expect(statSync(join(h, 'token')).mode & 0o777).toBe(0o644);

    if (isRoot) {
      chmodSync(join(h, 'token'), 0o600);
      chownSync(join(h, 'token'), NOBODY, NOBODY);
      const o = cli(h, ['daemon', 'status']);
      expect(o.code).toBe(2);
      expect(o.stderr).toContain(`it belongs to uid ${NOBODY}`);
    }

    rmSync(join(h, 'token'));
    const elsewhere = join(mkdtempSync(join(tmpdir(), 'rxt-')), 'token');
    writeFileSync(elsewhere, 'b'.repeat(64), { mode: 0o600 });
    symlinkSync(elsewhere, join(h, 'token'));
    cleanups.push(() => rmSync(dirname(elsewhere), { recursive: true, force: true }));
    const l = cli(h, ['daemon', 'status']);
    expect(l.code).toBe(2);
    expect(l.stderr).toContain('is a symbolic link');
    await settle();
    expect(fake.connections).toBe(0);
  });
});

describe('REFLEXGEN_HOME that others can write to', () => {
  it('a private state dir inside a world-writable, non-sticky parent: refused (anyone could swap it)', () => {
    const parent = mkdtempSync(join(tmpdir(), 'rxp-'));
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    const h = join(parent, 'state');
    mkdirSync(h, { mode: 0o700 });
    chmodSync(parent, 0o777);
    const r = cli(h, ['daemon', 'start']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`refusing state directory ${h}: its parent directory (mode 0777) lets other users replace it`);
    chmodSync(parent, 0o1777); // sticky, like /tmp: fine
    expect(cli(h, ['daemon', 'start']).code).toBe(0);
    cli(h, ['daemon', 'stop']);
  });

  it.each([
    ['0777', 0o777],
    ['1777', 0o1777],
    ['0775', 0o775],
  ])('mode %s: refused in one line with exit 2, left as it was; a commit follows failMode', (_label, mode) => {
    const h = home();
    const open = repoIn(h, 'open');
    const closed = repoIn(h, 'closed');
    chmodSync(h, mode);
    const commands = mode === 0o777 ? [['daemon', 'start'], ['daemon', 'status']] : [['daemon', 'start']];
    for (const args of commands) {
      const r = spawnSync(process.execPath, [CLI, ...args], { cwd: open.dir, env: envFor(h), encoding: 'utf8' });
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`refusing state directory ${h}: mode ${mode.toString(8).padStart(4, '0')}`);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    if (mode === 0o777) {
      // `check --staged` is what lint-staged and pre-commit run: like the hook, it names the reason and follows failMode.
      for (const [repo, code] of [[open, 0], [closed, 1]] as const) {
        const r = spawnSync(process.execPath, [CLI, 'check', '--staged'], { cwd: repo.dir, env: envFor(h), encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(code);
        expect(r.stderr).toContain(`refusing state directory ${h}: mode 0777`);
      }
    }
    expect(open.commit('open').code).toBe(0);
    expect(closed.commit('closed').code).toBe(1);
    expect(statSync(h).mode & 0o7777).toBe(mode);
    expect(existsSync(join(h, 'token'))).toBe(false);
    expect(daemonPid(h)).toBeUndefined();
  }, SLOW);
});

describe('a state path too long for a Unix socket', () => {
  function deepHome(): string {
    const base = home();
    const deep = join(base, 'd'.repeat(60), 'e'.repeat(60));
    return deep;
  }

  it('prefers $XDG_RUNTIME_DIR when it is private and the user\'s, creating reflexgen-<hash> 0700 there', () => {
    const deep = deepHome();
    const runtime = mkdtempSync(join(tmpdir(), 'rxrt-'));
    cleanups.push(() => rmSync(runtime, { recursive: true, force: true }));
    const env = { XDG_RUNTIME_DIR: runtime };
    expect(cli(deep, ['daemon', 'start'], env).code).toBe(0);
    cleanups.push(() => stopDaemon(deep));
    const s = JSON.parse(cli(deep, ['daemon', 'status', '--format', 'json'], env).stdout);
    expect(s.running).toBe(true);
    expect(s.socket).toMatch(new RegExp(`^${runtime}/reflexgen-[0-9a-f]{16}/daemon\\.sock$`));
    expect(s.tokenFile).toBe(join(deep, 'token'));
    expect(s.pid).toBe(daemonPid(deep));
    expect(statSync(dirname(s.socket)).mode & 0o777).toBe(0o700);
    expect(statSync(deep).mode & 0o777).toBe(0o700);
    cli(deep, ['daemon', 'stop'], env);

    // A runtime dir others can enter is not used.
    chmodSync(runtime, 0o755);
    const loose = JSON.parse(cli(deep, ['daemon', 'status', '--format', 'json'], env).stdout);
    expect(loose.socket.startsWith(runtime)).toBe(false);
    expect(loose.socket).toMatch(new RegExp(`^${tmpdir()}/reflexgen-${process.getuid?.()}-[0-9a-f]{16}/daemon\\.sock$`));
  });

  it('falls back to <tmp>/reflexgen-<uid>-<hash> created 0700; one pre-created by someone else is refused and receives nothing', async () => {
    const deep = deepHome();
    const env = { XDG_RUNTIME_DIR: '' };
    const where = JSON.parse(cli(deep, ['daemon', 'status', '--format', 'json'], env).stdout).socket as string;
    const dir = dirname(where);
    expect(dir).toMatch(new RegExp(`^${tmpdir()}/reflexgen-${process.getuid?.()}-[0-9a-f]{16}$`));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

    // Another user got there first: a directory anyone can write to, with a listener in it.
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    if (isRoot) chownSync(dir, NOBODY, NOBODY);
    const fake = await fakeDaemon(where);
    const r = cli(deep, ['daemon', 'start'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`refusing socket directory ${dir}`);
    await settle();
    expect(fake.connections).toBe(0);
    expect(lstatSync(dir).mode & 0o777).toBe(0o777);
    fake.server.close();
    rmSync(dir, { recursive: true, force: true });

    // Nobody there: the daemon makes it private and works.
    expect(cli(deep, ['daemon', 'start'], env).code).toBe(0);
    cleanups.push(() => stopDaemon(deep));
    expect(lstatSync(dir).mode & 0o777).toBe(0o700);
    expect(lstatSync(dir).uid).toBe(process.getuid?.());
    const s = JSON.parse(cli(deep, ['daemon', 'status', '--format', 'json'], env).stdout);
    expect(s.socket).toBe(where);
    expect(s.running).toBe(true);
  });
});

/*
 * A full disk, for real: a tiny tmpfs as REFLEXGEN_HOME, filled up. Needs root (mount); skipped
 * elsewhere.
 */
function canMount(): boolean {
  if (!isRoot) return false;
  const probe = mkdtempSync(join(tmpdir(), 'rxmnt-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
}
const mountable = canMount();

describe('a daemon that cannot start because the disk is full', () => {
  let mnt: string | undefined;
  afterAll(() => {
    if (mnt) {
      stopDaemon(mnt);
      spawnSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it.skipIf(!mountable)('the client reports the daemon\'s own reason and the hook follows failMode', () => {
    const h = home();
    const open = repoIn(h, 'open');
    const closed = repoIn(h, 'closed');
    mnt = mkdtempSync(join(tmpdir(), 'rxfull-'));
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mnt]).status).toBe(0);
    // Fill it: dd stops at ENOSPC.
    spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=4k'], { encoding: 'utf8' });

    const r = cli(mnt, ['daemon', 'start']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`the daemon exited during start-up (code 1): could not write the token file ${join(mnt, 'token')}: ENOSPC: no space left on device`);

    const ro = open.commit('open', { REFLEXGEN_HOME: mnt });
    expect(ro.code, ro.stderr).toBe(0);
    expect(ro.stderr).toMatch(/ENOSPC|no space left on device/i);
    expect(ro.stderr).toContain('commit allowed (failMode "open")');
    const rc = closed.commit('closed', { REFLEXGEN_HOME: mnt });
    expect(rc.code).toBe(1);
    expect(rc.stderr).toMatch(/ENOSPC|no space left on device/i);
    expect(rc.stderr).toContain('failMode is "closed"');
  }, SLOW);

  it.skipIf(!mountable)('with a token from an earlier start, the next failing write is named, and no socket or pid file is left', () => {
    mnt = mnt ?? mkdtempSync(join(tmpdir(), 'rxfull-'));
    if (spawnSync('mountpoint', ['-q', mnt]).status !== 0) {
      expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mnt]).status).toBe(0);
    }
    rmSync(join(mnt, 'filler'), { force: true });
    expect(cli(mnt, ['daemon', 'start']).code).toBe(0);
    expect(cli(mnt, ['daemon', 'stop']).code).toBe(0);
    spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=4k'], { encoding: 'utf8' });
    const again = cli(mnt, ['daemon', 'start']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exited during start-up \(code 1\): could not write the .* ENOSPC: no space left on device/);
    expect(existsSync(join(mnt, 'daemon.sock'))).toBe(false);
    expect(existsSync(join(mnt, 'daemon.pid'))).toBe(false);
  }, SLOW);
});
