import pino, { type Logger } from 'pino';

/** The daemon logs to a file in the state dir: it is detached and has no terminal. */
export function createLogger(file: string): Logger {
  const level = process.env.REFLEXGEN_LOG_LEVEL ?? 'info';
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: file, mkdir: true, sync: true }));
}
