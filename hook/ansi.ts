/*
 * Terminal colors for the hook. picocolors is what the rest of the CLI uses, but as the hook's only
 * CommonJS import it cost ~8 ms of start-up per commit. Same rules: NO_COLOR and FORCE_COLOR win,
 * otherwise color only on a TTY.
 */
const enabled =
  !('NO_COLOR' in process.env) && ('FORCE_COLOR' in process.env || (process.stderr.isTTY === true && process.env.TERM !== 'dumb'));

const wrap = (open: number, close: number) => (s: string) => (enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s);

export const red = wrap(31, 39);
export const green = wrap(32, 39);
export const yellow = wrap(33, 39);
export const cyan = wrap(36, 39);
export const bold = wrap(1, 22);
export const dim = wrap(2, 22);
