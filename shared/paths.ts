import { existsSync, lstatSync, mkdirSync, type Stats } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from './errors.js';

/**
 * Root of the installed package (the folder holding package.json): this module runs from
 * dist/<component>/ (compiled, or bundled into the hook) or from shared/ (sources, under vitest).
 */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/<component>/, dist/hook/chunks/ or shared/: the nearest folder above with package.json.
  for (let d = dirname(here), i = 0; i < 3; d = dirname(d), i++) if (existsSync(join(d, 'package.json'))) return d;
  return resolve(here, '..');
}

/** Per-user state directory: $REFLEXGEN_HOME, else $XDG_STATE_HOME/reflexgen, else ~/.local/state/reflexgen. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REFLEXGEN_HOME) return resolve(env.REFLEXGEN_HOME);
  const xdg = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(xdg, 'reflexgen');
}

/**
 * A state directory, socket or token file that another local user could read, replace or stand
 * in for. The CLI prints it as one line and exits 2 (it is a UserError); the `code` makes the hook
 * treat it like an unreachable daemon, so failMode decides the commit.
 */
export class UnsafePathError extends UserError {
  readonly code = 'EUNSAFE';
  constructor(message: string) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

export function currentUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

function lstatOrNone(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * What ssh checks before it trusts a socket or key directory, and then some: the entry itself
 * (lstat, never followed) is a real directory owned by this user that nobody else can enter, and
 * its parent cannot be used by someone else to swap it (owned by this user or root, and either
 * not world-writable or sticky like /tmp). Returns the one-line reason, or undefined.
 */
export function privateDirProblem(dir: string, what: string): string | undefined {
  const uid = currentUid();
  const st = lstatOrNone(dir);
  if (!st) return `${what} ${dir} does not exist`;
  if (st.isSymbolicLink()) return `refusing ${what} ${dir}: it is a symbolic link (point REFLEXGEN_HOME at a real directory)`;
  if (!st.isDirectory()) return `refusing ${what} ${dir}: it is not a directory`;
  if (uid !== undefined && st.uid !== uid) {
    return `refusing ${what} ${dir}: it belongs to uid ${st.uid}, not to you (uid ${uid}); remove it or set REFLEXGEN_HOME to a directory of yours`;
  }
  if ((st.mode & 0o077) !== 0) {
    return `refusing ${what} ${dir}: mode ${octal(st.mode)} lets other users in; it must be 0700 (\`chmod 700\` it if only you use it, or set REFLEXGEN_HOME to a private directory)`;
  }
  const parent = dirname(dir);
  if (parent !== dir && uid !== undefined) {
    const p = lstatOrNone(parent);
    if (p && p.uid !== uid && p.uid !== 0) return `refusing ${what} ${dir}: its parent directory belongs to uid ${p.uid}, who could replace it`;
    // Group-writable parents are common (umask 002 with per-user groups) and not counted.
    if (p && (p.mode & 0o002) !== 0 && (p.mode & 0o1000) === 0) {
      return `refusing ${what} ${dir}: its parent directory (mode ${octal(p.mode)}) lets other users replace it`;
    }
  }
  return undefined;
}

export function assertPrivateDir(dir: string, what = 'state directory'): void {
  const problem = privateDirProblem(dir, what);
  if (problem) throw new UnsafePathError(problem);
}

/**
 * Creates the directory with mode 0700 when it is missing; an existing one is used only when it
 * already passes privateDirProblem. It is never chmod-ed: REFLEXGEN_HOME=/tmp must not turn /tmp
 * private, and a directory someone else prepared must not be adopted.
 */
export function ensurePrivateDir(dir: string, what = 'state directory'): string {
  if (!lstatOrNone(dir)) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  // Whoever created it (we, a concurrent start, or someone else first), check what is there now.
  assertPrivateDir(dir, what);
  return dir;
}

/** A short stable name for a path. Not security relevant; avoids loading node:crypto in the hook. */
function fnv1a(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(s)) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

// sun_path is 108 bytes on Linux and 104 on macOS; keep a margin.
export const MAX_SOCKET_PATH = 100;

export interface DaemonPaths {
  state: string;
  socket: string;
  token: string;
  pid: string;
  lock: string;
  log: string;
  portFile: string;
}

/** $XDG_RUNTIME_DIR when it is usable for private sockets: absolute, ours, a real directory, 0700. */
function runtimeDir(env: NodeJS.ProcessEnv): string | undefined {
  const dir = env.XDG_RUNTIME_DIR;
  if (!dir || !dir.startsWith('/')) return undefined;
  try {
    const st = lstatSync(dir);
    const uid = currentUid();
    return st.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o777) === 0o700 ? dir : undefined;
  } catch {
    return undefined;
  }
}

export function daemonPaths(env: NodeJS.ProcessEnv = process.env): DaemonPaths {
  const state = stateDir(env);
  let socket = join(state, 'daemon.sock');
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    // A deep state dir would overflow sun_path. Both the daemon and every client must find the
    // socket from the environment alone, so its directory name is predictable: prefer the
    // per-user runtime dir nobody else can enter, else a name under the temp dir that whoever
    // creates it first owns (the daemon creates it 0700; both sides refuse it unless it is ours
    // and private).
    const tag = fnv1a(state);
    const runtime = runtimeDir(env);
    const inRuntime = runtime ? join(runtime, `reflexgen-${tag}`, 'daemon.sock') : undefined;
    socket =
      inRuntime && Buffer.byteLength(inRuntime) <= MAX_SOCKET_PATH
        ? inRuntime
        : join(tmpdir(), `reflexgen-${currentUid() ?? 0}-${tag}`, 'daemon.sock');
  }
  return {
    state,
    socket,
    token: join(state, 'token'),
    pid: join(state, 'daemon.pid'),
    lock: join(state, 'daemon-start'),
    log: join(state, 'daemon.log'),
    portFile: join(state, 'daemon.port'),
  };
}

/**
 * Checks the daemon's socket before a client sends it the token: the socket's directory passes
 * privateDirProblem and the socket itself is a socket owned by this user with no access for others.
 * Returns false when there is no socket (no daemon); throws UnsafePathError when it is not ours.
 */
export function verifySocket(paths: DaemonPaths): boolean {
  const dir = dirname(paths.socket);
  const what = dir === paths.state ? 'state directory' : 'socket directory';
  const dirSt = lstatOrNone(dir);
  if (!dirSt) return false;
  assertPrivateDir(dir, what);
  const st = lstatOrNone(paths.socket);
  if (!st) return false;
  const uid = currentUid();
  if (!st.isSocket()) throw new UnsafePathError(`refusing socket ${paths.socket}: it is not a socket (remove it; the daemon makes a new one)`);
  if (uid !== undefined && st.uid !== uid) {
    throw new UnsafePathError(`refusing socket ${paths.socket}: it belongs to uid ${st.uid}, not to you (uid ${uid}); remove it`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new UnsafePathError(`refusing socket ${paths.socket}: mode ${octal(st.mode)} lets other users connect (stop the daemon and remove it)`);
  }
  return true;
}

export function modelDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.REFLEXGEN_MODEL_DIR ? resolve(env.REFLEXGEN_MODEL_DIR) : join(stateDir(env), 'models');
}
