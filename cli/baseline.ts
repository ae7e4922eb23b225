import type { Command } from 'commander';
import { Option } from 'commander';
import pc from 'picocolors';
import { loadConfig, type Config } from '../shared/config.js';
import { git, repoInfo } from '../shared/git.js';
import { languageOf } from '../shared/languages.js';
import type { AnalyzerStatus, Finding } from '../shared/findings.js';
import type { FileChange } from '../shared/protocol.js';

/*
 * `reflexgen baseline`: records every current finding in the repo's tracked source files in
 * `.reflexgen/baseline.json`, so that adopting the gate on an old code base does not block the
 * next commit on years of existing findings.
 *
 * It runs the analyzers in this process rather than through the daemon: it is a rare, explicit
 * command over the whole repo, it must see exactly the same analyzer set and configuration as the
 * gate (the list in daemon/analyzers/registry.ts), and it must not tie up the daemon that serves
 * commits. It reads the *index* versions of the files, like the gate, so unstaged edits do not
 * leak into the baseline. Findings are taken before inline suppressions and without merging, so
 * the fingerprints match what the pipeline filters.
 */

export interface BaselineRunResult {
  path: string;
  files: number;
  findings: Finding[];
  entries: number;
  statuses: AnalyzerStatus[];
  /** Files some analyzer could not look at: their findings from that analyzer are not in the baseline. */
  notAnalyzed: Array<{ tool?: string; path: string; reason: string }>;
}

/** Tracked files at their staged (index) blob: `git ls-files -s -z`. Submodules and symlinks are skipped. */
export async function trackedFiles(repoRoot: string): Promise<FileChange[]> {
  const { stdout } = await git(repoRoot, ['ls-files', '-s', '-z']);
  const out: FileChange[] = [];
  for (const rec of stdout.toString('utf8').split('\0')) {
    const m = /^(\d{6}) ([0-9a-f]{40,64}) (\d)\t(.+)$/s.exec(rec);
    if (!m) continue;
    const [, mode, blob, stage, path] = m;
    if (stage !== '0') continue; // unmerged entries: nothing sensible to record
    if (mode !== '100644' && mode !== '100755') continue;
    if (!languageOf(path)) continue;
    out.push({ path, status: 'A', blob, binary: false, addedLines: 'all' });
  }
  return out;
}

export async function runBaseline(
  cwd: string,
  opts: { config?: Config; onProgress?: (message: string, done: number, total: number) => void } = {},
): Promise<BaselineRunResult> {
  const { root } = await repoInfo(cwd);
  const config = opts.config ?? (await loadConfig(root));
  // Heavy imports only when the command runs, so `reflexgen --help` stays fast.
  const { materialize, snapshotTarget } = await import('../daemon/pipeline/snapshot.js');
  const { runAnalyzers } = await import('../daemon/pipeline/analyze.js');
  const { writeBaseline } = await import('../daemon/baseline.js');

  const { maxFileBytes } = await import('../daemon/pipeline/check.js');
  const { excludeRules } = await import('../shared/ignore-rules.js');
  const excluded = await excludeRules(root, config.exclude, { fromIndex: true });
  const snap = await materialize(root, await trackedFiles(root), excluded.patterns, { maxFileBytes: maxFileBytes(config) });
  try {
    // snapshotTarget hands the analyzers the writer: external tools start only once every file is on disk.
    const { findings, statuses, notAnalyzed } = await runAnalyzers({ ...snapshotTarget(snap), repoRoot: root, config, onProgress: opts.onProgress });
    const { path, baseline } = await writeBaseline(root, findings, snap.contents);
    return { path, files: snap.files.length, findings, entries: baseline.entries.length, statuses, notAnalyzed: [...snap.notAnalyzed, ...notAnalyzed] };
  } finally {
    await snap.dispose();
  }
}

export function registerBaselineCommand(program: Command): void {
  program
    .command('baseline')
    .description('record the current findings of all tracked files in .reflexgen/baseline.json so they no longer block commits')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { format: string }) => {
      const r = await runBaseline(process.cwd(), {
        onProgress: (message, done, total) => {
          if (opts.format === 'text' && process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message} (${done}/${total})`);
        },
      });
      if (opts.format === 'text' && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      if (opts.format === 'json') {
        process.stdout.write(JSON.stringify({ path: r.path, files: r.files, findings: r.findings.length, entries: r.entries, analyzers: r.statuses, notAnalyzed: r.notAnalyzed }, null, 2) + '\n');
        return;
      }
      const notRun = r.statuses.filter((s) => s.state !== 'ok' && s.state !== 'skipped');
      process.stdout.write(`${pc.green('baseline written')}: ${r.path}\n`);
      process.stdout.write(`${r.findings.length} finding(s) in ${r.files} file(s) -> ${r.entries} fingerprint(s); commit the file to share it\n`);
      for (const s of notRun) process.stdout.write(pc.yellow(`warning: ${s.id} ${s.state}${s.detail ? `: ${s.detail}` : ''} (its findings are not in the baseline)\n`));
      for (const n of r.notAnalyzed) process.stdout.write(pc.yellow(`warning: ${n.path}: ${n.tool ? `${n.tool}: ` : ''}${n.reason}\n`));
    });
}
