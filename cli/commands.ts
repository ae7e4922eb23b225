import type { Command } from 'commander';
import { formatOption } from './options.js';
import { cleanLine } from '../shared/terminal-text.js';
import pc from 'picocolors';
import { existsSync } from 'node:fs';
import { UserError } from '../shared/errors.js';
import { daemonPaths, ensurePrivateDir, modelDir, UnsafePathError } from '../shared/paths.js';
import type { StatusResult } from '../shared/protocol.js';
import { buildVersion } from '../shared/version.js';
import { connectDaemon, stopDaemon, withDaemon } from '../hook/client.js';
import type { CheckOptions } from './check-command.js';
import { CHECK_FORMATS } from './check-args.js';
import type { InitMode } from './init.js';

function fmtBytes(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

async function printStatus(format: string): Promise<void> {
  const paths = daemonPaths();
  try {
    const s = await withDaemon((c) => c.request<StatusResult>('status'), { start: false });
    if (format === 'json') return void process.stdout.write(JSON.stringify({ running: true, ...s, tokenFile: paths.token }, null, 2) + '\n');
    process.stdout.write(
      [
        `daemon: running (pid ${s.pid}, version ${s.version})`,
        `uptime: ${Math.round(s.uptimeMs / 1000)} s; idle exit after ${Math.round(s.idleExitMs / 60000)} min`,
        `socket: ${s.socket}`,
        `state: ${s.stateDir}`,
        `repos: ${s.repos.length ? s.repos.join(', ') : '(none yet)'}`,
        `checks: ${s.checks.running} running, ${s.checks.done} done`,
        `memory: rss ${fmtBytes(s.memory.rss)}, heap ${fmtBytes(s.memory.heapUsed)}`,
        ...(s.watcher ? [`watcher: ${s.watcher.repos} repo(s), ${s.watcher.queued} queued${s.watcher.running ? ', analyzing' : ''}, ${s.watcher.runs} pre-analyses`] : []),
        ...(s.cache ? [`cache: ${s.cache.hits} hits, ${s.cache.misses} misses (${Math.round(s.cache.hitRate * 100)}% hit rate), ${s.cache.analyzerRuns} analyzer runs`] : []),
        ...(s.verdicts ? [`verdicts: ${s.verdicts.hits} answered from memory, ${s.verdicts.misses} checked (${s.verdicts.entries} remembered)`] : []),
      ].join('\n') + '\n',
    );
  } catch (err) {
    // A state dir or socket the client refuses is not "not running": say why, exit 2.
    if (err instanceof UnsafePathError) throw err;
    if (format === 'json') {
      return void process.stdout.write(JSON.stringify({ running: false, socket: paths.socket, tokenFile: paths.token, stateDir: paths.state }) + '\n');
    }
    process.stdout.write('daemon: not running\n');
  }
}

export async function registerCoreCommands(program: Command): Promise<void> {
  program.version(buildVersion(), '-V, --version');

  program
    .command('init')
    .description('install the pre-commit hook in this repository')
    .option('--husky', 'add reflexgen to .husky/pre-commit')
    .option('--git-hook', 'write .git/hooks/pre-commit (chains an existing hook)')
    .option('--lint-staged', 'add a lint-staged task running `reflexgen check --staged`')
    .action(async (opts: { husky?: boolean; gitHook?: boolean; lintStaged?: boolean }) => {
      const modes = (['husky', 'gitHook', 'lintStaged'] as const).filter((k) => opts[k]);
      if (modes.length > 1) throw new UserError('choose one of --husky, --git-hook, --lint-staged');
      const mode: InitMode | undefined = opts.husky ? 'husky' : opts.gitHook ? 'git-hook' : opts.lintStaged ? 'lint-staged' : undefined;
      const { init } = await import('./init.js');
      const r = await init(process.cwd(), mode);
      process.stdout.write(`reflexgen: ${r.message}\n`);
      // Register the repo so the daemon pre-analyzes at `git add`; tell a running daemon now.
      const { repoInfo } = await import('../shared/git.js');
      const { addRepo } = await import('../shared/repos.js');
      const info = await repoInfo(process.cwd());
      ensurePrivateDir(daemonPaths().state);
      addRepo(daemonPaths().state, { root: info.root, gitDir: info.gitDir });
      await withDaemon((c) => c.request('watch', { repoRoot: info.root, gitDir: info.gitDir }), { start: false }).catch(() => undefined);
    });

  program
    .command('check')
    .description('check the staged change (default), the given files, every tracked file (--all) or the lines changed since a ref (--diff-base)')
    .option('--staged', 'check what is staged (default when no paths are given); paths then filter it')
    .option('--all', 'check every tracked file as it is in the index (CI, pre-commit run --all-files)')
    .option('--diff-base <ref>', 'check the lines committed since the merge base of HEAD and <ref> (CI on a branch)')
    .addOption(formatOption(CHECK_FORMATS))
    .option('--verbose', 'list every finding (text format), not the first few per file')
    .option('--daemon', 'run the check in the daemon even when CI is set')
    .option('--no-daemon', 'run the check in this process: no daemon, no socket (the default when CI is set)')
    .argument('[paths...]', 'files to check as they are in the working tree (with --staged, --all or --diff-base: a filter)')
    .action(async (paths: string[], opts: CheckOptions) => {
      const { checkCommand } = await import('./check-command.js');
      await checkCommand(paths, opts);
    });

  program
    .command('apply')
    .description('apply a verified repair saved by a blocked commit (the latest when no id is given)')
    .argument('[id]', 'repair id printed by the report')
    .action(async (id: string | undefined) => {
      const { repoInfo } = await import('../shared/git.js');
      const { applyRepairs, loadPatch } = await import('../shared/apply.js');
      const info = await repoInfo(process.cwd());
      const p = loadPatch(info.gitDir, id);
      const res = await applyRepairs(info.root, info.gitDir, [p]);
      for (const f of res.files) process.stdout.write(`reflexgen: applied ${p.id} to ${f.path}${f.worktree ? ' (index and working tree)' : ` (index only: ${f.note})`}\n`);
      process.stdout.write(`reflexgen: backup ${res.backupId}; \`reflexgen undo\` restores the previous content\n`);
    });

  program
    .command('undo')
    .description('restore the index and working-tree files from the last applied repair\'s backup')
    .argument('[backup]', 'backup id (default: the latest)')
    .action(async (backup: string | undefined) => {
      const { repoInfo } = await import('../shared/git.js');
      const { undoLastApply } = await import('../shared/apply.js');
      const info = await repoInfo(process.cwd());
      const res = await undoLastApply(info.root, info.gitDir, backup);
      process.stdout.write(`reflexgen: restored ${res.restored.join(', ')} from ${res.backupId}\n`);
      for (const s of res.skipped) process.stdout.write(`reflexgen: ${s.path}: ${s.reason}\n`);
    });

  const daemon = program.command('daemon').description('manage the background daemon');
  daemon
    .command('start')
    .description('start the daemon if it is not running')
    .action(async () => {
      const c = await connectDaemon({ client: 'cli' });
      process.stdout.write(`daemon: running (pid ${c.hello?.pid})\n`);
      c.close();
    });
  daemon
    .command('stop')
    .description('stop the daemon')
    .action(async () => {
      process.stdout.write((await stopDaemon()) ? 'daemon: stopped\n' : 'daemon: was not running\n');
    });
  daemon
    .command('restart')
    .description('stop and start the daemon')
    .action(async () => {
      await stopDaemon();
      const c = await connectDaemon({ client: 'cli' });
      process.stdout.write(`daemon: restarted (pid ${c.hello?.pid})\n`);
      c.close();
    });
  daemon
    .command('status')
    .description('show whether the daemon runs, its uptime, repos and memory')
    .addOption(formatOption(['text', 'json']))
    .action(async (opts: { format: string }) => printStatus(opts.format));

  program
    .command('doctor')
    .description('show which analyzers are installed, their versions, and where state lives')
    .addOption(formatOption(['text', 'json']))
    .action(async (opts: { format: string }) => {
      const { allAnalyzers, probe } = await import('../daemon/analyzers/registry.js');
      const rows = await Promise.all(
        allAnalyzers().map(async (a) => ({ id: a.id, languages: a.languages, ...(await probe(a)) })),
      );
      const { embeddingRuntimeStatus } = await import('../knowledge/embedder.js');
      const embeddings = await embeddingRuntimeStatus();
      const paths = daemonPaths();
      const info = { version: buildVersion(), node: process.version, stateDir: paths.state, socket: paths.socket, modelDir: modelDir(), daemonRunning: existsSync(paths.socket), embeddings, analyzers: rows };
      if (opts.format === 'json') return void process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      const out = [
        `reflexgen ${info.version} on node ${info.node}`,
        `state dir: ${info.stateDir}`,
        `socket:    ${info.socket}${info.daemonRunning ? '' : ' (no daemon running)'}`,
        `models:    ${info.modelDir}`,
        `embeddings: ${embeddings.available ? pc.green('ok') : pc.yellow('off')} ${embeddings.detail}`,
        'analyzers:',
        // For an available tool the detail says which installation runs (bandit: PATH, python3 -m, launcher).
        ...rows.map((r) => `  ${r.available ? pc.green('ok     ') : pc.yellow('missing')} ${r.id.padEnd(9)} ${(r.version ?? '').padEnd(10)} ${r.languages.join(', ')}  (${cleanLine(r.detail ?? (r.available ? '' : 'not found'))})`.replace(/  \(\)$/, '')),
      ];
      process.stdout.write(out.join('\n') + '\n');
    });
}
