import { mkdirSync, chmodSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Root of the installed package (the folder holding package.json): this module runs from
 * dist/<component>/ (compiled, or bundled into the hook) or from shared/ (sources, under vitest).
 */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return basename(dirname(here)) === 'dist' ? resolve(here, '..', '..') : resolve(here, '..');
}

/** Per-user state directory: $REFLEXGEN_HOME, else $XDG_STATE_HOME/reflexgen, else ~/.local/state/reflexgen. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REFLEXGEN_HOME) return resolve(env.REFLEXGEN_HOME);
  const xdg = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(xdg, 'reflexgen');
}

/** Creates the directory with mode 0700 and tightens it if it already existed looser. */
export function ensurePrivateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode & 0o777;
  if (mode !== 0o700) chmodSync(dir, 0o700);
  return dir;
}

/** A short stable name for a path. Not security relevant; avoids loading node:crypto in the hook. */
function fnv1a(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(s)) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

// sun_path is 108 bytes on Linux and 104 on macOS; keep a margin.
const MAX_SOCKET_PATH = 100;

export interface DaemonPaths {
  state: string;
  socket: string;
  token: string;
  pid: string;
  lock: string;
  log: string;
  portFile: string;
}

export function daemonPaths(env: NodeJS.ProcessEnv = process.env): DaemonPaths {
  const state = stateDir(env);
  let socket = join(state, 'daemon.sock');
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    // A deep $REFLEXGEN_HOME would overflow sun_path: fall back to a private dir under /tmp named after it.
    const tag = fnv1a(state);
    const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
    socket = join(tmpdir(), `reflexgen-${uid}-${tag}`, 'daemon.sock');
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

export function modelDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.REFLEXGEN_MODEL_DIR ? resolve(env.REFLEXGEN_MODEL_DIR) : join(stateDir(env), 'models');
}
