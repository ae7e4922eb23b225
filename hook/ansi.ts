/*
 * Terminal colors for the hook. picocolors is what the rest of the CLI uses, but as the hook's only
 * CommonJS import it cost ~8 ms of start-up per commit.
 *
 * The rules, per https://no-color.org and https://force-color.org as Node reads them:
 * FORCE_COLOR decides when it is set: "0" or "false" turns color off, any other value ("1"-"3",
 * "true", even empty) turns it on, and it wins over NO_COLOR (as in Node's own tty). Otherwise
 * NO_COLOR set to a non-empty value turns color off (an empty NO_COLOR is not set). Otherwise color
 * only on a TTY whose TERM is not "dumb".
 */
export function colorEnabled(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY && env.TERM !== 'dumb';
}

/**
 * Rewrites NO_COLOR/FORCE_COLOR so that libraries with simpler rules (picocolors treats an empty
 * NO_COLOR as set, FORCE_COLOR=0 as "force", and NO_COLOR as stronger) reach the same decision.
 * Only removes variables or sets NO_COLOR=1, so child processes never get color forced on them.
 * Call before those libraries load.
 */
export function normalizeColorEnv(env: NodeJS.ProcessEnv): void {
  const force = env.FORCE_COLOR;
  if (force !== undefined && (force === '0' || force.toLowerCase() === 'false')) {
    delete env.FORCE_COLOR;
    env.NO_COLOR = '1';
  } else if (force !== undefined || env.NO_COLOR === '') {
    delete env.NO_COLOR;
  }
}

const enabled = colorEnabled(process.env, process.stderr.isTTY === true);

const wrap = (open: number, close: number) => (s: string) => (enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s);

export const red = wrap(31, 39);
export const green = wrap(32, 39);
export const yellow = wrap(33, 39);
export const cyan = wrap(36, 39);
export const bold = wrap(1, 22);
export const dim = wrap(2, 22);
