import * as pc from '../hook/ansi.js';
import { renderReport, type ReportScope } from '../hook/render.js';
import { cachedVerdict } from '../hook/cached-verdict.js';
import type { DaemonClient } from '../hook/client.js';
import { exitCodeFor, handleRepairs, runCheckViaDaemon, type CheckRun, type RunCheckOptions } from '../hook/run-check.js';
import { UserError } from '../shared/errors.js';
import { cleanLine } from '../shared/terminal-text.js';
import { chooseCheckMode } from './check-mode.js';

/*
 * `reflexgen check`, shared by the full CLI (commander, cli/commands.ts) and the start-up fast path
 * (cli/fast.ts, bundled), which lint-staged and the pre-commit framework start on every commit. It
 * imports only what the hook imports: no commander, zod or picocolors (colors via hook/ansi, which
 * follows the NO_COLOR/FORCE_COLOR rules of the rest of the CLI).
 */

export interface CheckOptions {
  staged?: boolean;
  all?: boolean;
  diffBase?: string;
  format: string;
  verbose?: boolean;
  /** false: --no-daemon; true: --daemon; undefined: the environment decides (cli/check-mode.ts). */
  daemon?: boolean;
}

function reportScope(mode: RunCheckOptions['mode'], paths: string[], base?: string): ReportScope {
  const filter = paths.length ? ` (limited to ${paths.length === 1 ? paths[0] : `${paths.length} paths`})` : '';
  if (mode === 'staged') return { what: 'in the staged change', commit: true };
  if (mode === 'all') return { what: `in the tracked files${filter}`, commit: false };
  if (mode === 'diff-base') return { what: `on the lines changed since the merge base with ${base}${filter}`, commit: false };
  return { what: `in ${paths.length === 1 ? paths[0] : `${paths.length} files`}`, commit: false };
}

export async function checkCommand(paths: string[], opts: CheckOptions): Promise<void> {
  const picked = [opts.staged && '--staged', opts.all && '--all', opts.diffBase !== undefined && '--diff-base'].filter(Boolean);
  if (picked.length > 1) throw new UserError(`choose one of ${picked.join(', ')}`);
  // The same switch as the hook, so lint-staged, pre-commit and CI can be skipped the same way.
  if (process.env.REFLEXGEN_SKIP === '1') {
    process.stderr.write(pc.yellow('reflexgen: security check skipped (REFLEXGEN_SKIP=1)') + '\n');
    process.exitCode = 0;
    return;
  }
  const mode: RunCheckOptions['mode'] = opts.all ? 'all' : opts.diffBase !== undefined ? 'diff-base' : opts.staged || paths.length === 0 ? 'staged' : 'paths';
  const where = chooseCheckMode(opts.daemon);
  // By URL, not by name, so the bundle of the fast path (cli/fast.ts) leaves the daemon's pipeline out.
  const inProcess = (): Promise<typeof import('./in-process.js')> => import(new URL('./in-process.js', import.meta.url).href);
  // The hook's first question, when the whole staged change is asked about from the top of the work
  // tree (the pre-commit framework, or lint-staged run by hand): a verdict known since `git add`.
  let connection: DaemonClient | undefined;
  if (mode === 'staged' && paths.length === 0 && !where.inProcess) {
    const cached = await cachedVerdict(process.cwd());
    if (cached.hit) return finish({ result: cached.result, root: cached.root, gitDir: cached.gitDir }, mode, paths, opts);
    connection = cached.client;
  }
  const runner = where.inProcess ? (await inProcess()).runCheckInProcess : runCheckViaDaemon;
  const run = await runner({
    connection,
    cwd: process.cwd(),
    mode,
    paths,
    base: opts.diffBase,
    client: 'cli',
    onProgress:
      opts.format === 'text' && process.stderr.isTTY
        ? (p) => process.stderr.write(`\r\x1b[K${pc.dim(`reflexgen: ${cleanLine(p.message)}`)}`)
        : undefined,
  });
  if (opts.format === 'text' && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  await finish(run, mode, paths, opts);
}

async function finish(run: CheckRun, mode: RunCheckOptions['mode'], paths: string[], opts: CheckOptions): Promise<void> {
  const staged = mode === 'staged';
  if (run.unavailable !== undefined) {
    // Exactly the hook's rule: the repository's failMode decides, and the reason is always printed.
    const what = staged ? 'commit' : 'check';
    if (run.failMode === 'closed') {
      process.stderr.write(pc.red(`reflexgen: ${what} blocked: the security check could not run (${cleanLine(run.unavailable)}); failMode is "closed"`) + '\n');
      process.exitCode = 1;
    } else {
      process.stderr.write(pc.yellow(`reflexgen: warning: the security check could not run (${cleanLine(run.unavailable)}); ${what} allowed (failMode "open")`) + '\n');
      process.exitCode = 0;
    }
    return;
  }
  const r = run.result!;
  if (opts.format === 'json') process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else if (opts.format === 'sarif') {
    const { toSarif } = await import('../shared/sarif.js');
    process.stdout.write(JSON.stringify(toSarif(r, { toolVersion: (await import('../shared/version.js')).buildVersion() }), null, 2) + '\n');
  } else process.stdout.write(renderReport(r, { scope: reportScope(mode, paths, opts.diffBase), verbose: opts.verbose }) + '\n');
  // Staged checks (lint-staged runs this) handle repairs like the hook; the others only report.
  const repairs = staged && !run.indexChanged ? await handleRepairs(run) : { lines: [] };
  for (const l of repairs.lines) process.stderr.write(`reflexgen: ${cleanLine(l)}\n`);
  const exit = exitCodeFor(run, repairs);
  if (exit.reason) process.stderr.write(`reflexgen: ${exit.reason}\n`);
  process.exitCode = exit.code;
}
