#!/usr/bin/env node
/*
 * The pre-commit hook. It must start in tens of milliseconds: no package is imported on its warm
 * path (a minimal WebSocket client, generated validators, git plumbing), and the build bundles it
 * into dist/hook/hook.cjs, the file git runs. Exit 0 lets the commit proceed, 1 blocks it.
 */
import * as pc from './ansi.js';
import { UserError, oneLine } from '../shared/errors.js';
import { cleanLine } from '../shared/terminal-text.js';
import { cachedVerdict } from './cached-verdict.js';
import { renderReport } from './render.js';

/*
 * Progress from the daemon is drawn on a terminal once a commit has waited a second: a cached
 * answer prints nothing but its report, a cold start or a long analysis says what it is doing.
 */
const PROGRESS_AFTER_MS = 1000;

async function main(): Promise<number> {
  if (process.env.REFLEXGEN_SKIP === '1') {
    process.stderr.write(pc.yellow('reflexgen: security check skipped (REFLEXGEN_SKIP=1)\n'));
    return 0;
  }
  const verbose = process.env.REFLEXGEN_VERBOSE === '1';
  // The daemon usually knows the verdict since `git add`: one question, no git process.
  const cached = await cachedVerdict(process.cwd());
  if (cached.hit) {
    const text = renderReport(cached.result, { verbose });
    if (text) process.stderr.write(text + '\n');
    return cached.result.verdict === 'block' ? 1 : 0;
  }
  // Loaded only now: reading the change, starting a daemon, carrying out repairs.
  const { exitCodeFor, handleRepairs, runCheckViaDaemon } = await import('./run-check.js');
  const tty = process.stderr.isTTY;
  let latest = '';
  let lastProgress = '';
  let shown = false;
  const draw = (line: string) => {
    if (!line || line === lastProgress) return;
    process.stderr.write(`\r\x1b[K${pc.dim(line)}`);
    lastProgress = line;
  };
  const showProgress = (line: string) => {
    latest = line;
    if (shown) draw(line);
  };
  const timer = tty
    ? setTimeout(() => {
        shown = true;
        draw(latest || 'reflexgen: checking the staged change');
      }, PROGRESS_AFTER_MS)
    : undefined;
  const run = await runCheckViaDaemon({
    cwd: process.cwd(),
    mode: 'staged',
    client: 'hook',
    connection: cached.client,
    onWait: (message) => showProgress(`reflexgen: ${message}`),
    onProgress: (p) => showProgress(`reflexgen: ${cleanLine(p.message)}${p.total ? ` (${p.done ?? 0}/${p.total})` : ''}`),
  }).finally(() => clearTimeout(timer));
  if (tty && lastProgress) process.stderr.write('\r\x1b[K');
  if (run.unavailable !== undefined) {
    if (run.failMode === 'closed') {
      process.stderr.write(pc.red(`reflexgen: commit blocked: the security check could not run (${cleanLine(run.unavailable)}); failMode is "closed"\n`));
      return 1;
    }
    process.stderr.write(pc.yellow(`reflexgen: warning: the security check could not run (${cleanLine(run.unavailable)}); commit allowed (failMode "open")\n`));
    return 0;
  }
  const r = run.result!;
  const text = renderReport(r, { verbose });
  if (text) process.stderr.write(text + '\n');
  // A verdict on an index that moved under it says nothing about what git is about to commit.
  const repairs = run.indexChanged ? { lines: [] } : await handleRepairs(run);
  for (const l of repairs.lines) process.stderr.write(`reflexgen: ${cleanLine(l)}\n`);
  const exit = exitCodeFor(run, repairs);
  if (exit.reason) process.stderr.write(pc.red(`reflexgen: ${exit.reason}\n`));
  return exit.code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UserError) {
      process.stderr.write(pc.red(`reflexgen: ${cleanLine(err.message)} (commit blocked; fix it or bypass once with --no-verify)\n`));
    } else {
      process.stderr.write(pc.red(`reflexgen: internal error: ${cleanLine(oneLine(err))} (commit blocked)\n`));
    }
    process.exit(1);
  },
);
