import { parseArgs } from 'node:util';
import type { CheckOptions } from './check-command.js';

/** `check --format`'s values. */
export const CHECK_FORMATS = ['text', 'json', 'sarif'];

/** `check`'s arguments when they are plain enough to run without commander; undefined otherwise. */
export function parseCheckArgs(args: string[], formats: readonly string[] = CHECK_FORMATS): { paths: string[]; opts: CheckOptions } | undefined {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true; tokens: true }>>;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch {
    return undefined;
  }
  const v = parsed.values;
  const format = v.format ?? 'text';
  if (!formats.includes(format)) return undefined;
  // Of --daemon and --no-daemon the last one counts, as with commander.
  let daemon: boolean | undefined;
  for (const t of parsed.tokens) if (t.kind === 'option' && (t.name === 'daemon' || t.name === 'no-daemon')) daemon = t.name === 'daemon';
  return {
    paths: parsed.positionals,
    opts: {
      ...(v.staged ? { staged: true } : {}),
      ...(v.all ? { all: true } : {}),
      ...(v['diff-base'] !== undefined ? { diffBase: v['diff-base'] } : {}),
      format,
      ...(v.verbose ? { verbose: true } : {}),
      ...(daemon !== undefined ? { daemon } : {}),
    },
  };
}

const OPTIONS = {
  staged: { type: 'boolean' },
  all: { type: 'boolean' },
  'diff-base': { type: 'string' },
  format: { type: 'string' },
  verbose: { type: 'boolean' },
  daemon: { type: 'boolean' },
  'no-daemon': { type: 'boolean' },
} as const;
