import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchHome, ROOT, mustSucceed, pythonSource, timed, type Results } from './util.js';

/** The program users run as `reflexgen`: the package's bin, not a file this bench picks. */
function reflexgenBin(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return join(ROOT, pkg.bin.reflexgen);
}

/*
 * What `reflexgen` costs to start where lint-staged and the pre-commit framework start it on every
 * commit: `reflexgen --version` (start-up alone) and `reflexgen check --staged` on one staged .py
 * file whose verdict the warm daemon already has (the watcher analyzed it at `git add`), against
 * `node -e 0`, the floor every Node program pays. Samples are interleaved round by round, so
 * machine noise lands on every series alike, and each ratio is of medians within this one run.
 */

const SECTION = 'CLI start-up';

export interface CliStartupRatios {
  versionOverNode: number;
  checkStagedOverNode: number;
  /** `check --staged` with nothing staged: no daemon contact, start-up and git plumbing only. */
  checkNothingStagedOverNode: number;
  /** The same two commands through the full, unbundled CLI (dist/cli/main.js), for comparison. */
  fullVersionOverNode: number;
  fullCheckStagedOverNode: number;
  nodeMs: number;
  versionMs: number;
  checkStagedMs: number;
  checkNothingStagedMs: number;
}

export async function benchCliStartup(res: Results, runs: number): Promise<CliStartupRatios> {
  const home = new BenchHome();
  try {
    await home.start();
    const staged = home.repo();
    staged.init();
    staged.write('README.md', 'bench\n');
    staged.add('README.md');
    staged.git(['commit', '-q', '--no-verify', '-m', 'initial']);
    const s0 = await home.status();
    staged.write('app.py', pythonSource('cli-startup'));
    staged.add('app.py');
    await home.settled(s0, { needRuns: true });

    const empty = home.repo();
    empty.write('README.md', 'bench\n');
    empty.add('README.md');
    empty.git(['commit', '-q', '--no-verify', '-m', 'initial']);

    const env = home.env;
    const CLI = reflexgenBin();
    const FULL = join(ROOT, 'dist', 'cli', 'main.js');
    const run = (args: string[], cwd: string, what: string) => mustSucceed(timed(process.execPath, args, { cwd, env }), what).ms;
    const series = {
      node: [] as number[],
      version: [] as number[],
      checkStaged: [] as number[],
      checkNothing: [] as number[],
      fullVersion: [] as number[],
      fullCheckStaged: [] as number[],
    };
    // One untimed pass of each: the page cache and the daemon's connection path are warm.
    run(['-e', '0'], staged.dir, 'node -e 0');
    run([CLI, '--version'], staged.dir, 'reflexgen --version');
    run([CLI, 'check', '--staged'], staged.dir, 'reflexgen check --staged');
    run([CLI, 'check', '--staged'], empty.dir, 'reflexgen check --staged (nothing staged)');
    run([FULL, 'check', '--staged'], staged.dir, 'dist/cli/main.js check --staged');
    const before = await home.status();
    for (let i = 0; i < runs; i++) {
      series.node.push(run(['-e', '0'], staged.dir, 'node -e 0'));
      series.version.push(run([CLI, '--version'], staged.dir, 'reflexgen --version'));
      series.checkStaged.push(run([CLI, 'check', '--staged'], staged.dir, 'reflexgen check --staged'));
      series.checkNothing.push(run([CLI, 'check', '--staged'], empty.dir, 'reflexgen check --staged (nothing staged)'));
      series.fullVersion.push(run([FULL, '--version'], staged.dir, 'dist/cli/main.js --version'));
      series.fullCheckStaged.push(run([FULL, 'check', '--staged'], staged.dir, 'dist/cli/main.js check --staged'));
    }
    const after = await home.status();

    const n = res.dist(SECTION, 'node -e 0', 'ms', series.node);
    const v = res.dist(SECTION, 'reflexgen --version', 'ms', series.version);
    const c = res.dist(SECTION, 'reflexgen check --staged (1 staged .py, warm daemon, cached verdict)', 'ms', series.checkStaged);
    const e = res.dist(SECTION, 'reflexgen check --staged (nothing staged)', 'ms', series.checkNothing);
    const fv = res.dist(SECTION, 'full CLI, unbundled (dist/cli/main.js) --version', 'ms', series.fullVersion);
    const fc = res.dist(SECTION, 'full CLI, unbundled (dist/cli/main.js) check --staged', 'ms', series.fullCheckStaged);
    const ratios: CliStartupRatios = {
      versionOverNode: v.median / n.median,
      checkStagedOverNode: c.median / n.median,
      checkNothingStagedOverNode: e.median / n.median,
      fullVersionOverNode: fv.median / n.median,
      fullCheckStagedOverNode: fc.median / n.median,
      nodeMs: n.median,
      versionMs: v.median,
      checkStagedMs: c.median,
      checkNothingStagedMs: e.median,
    };
    res.value(SECTION, 'ratio: reflexgen --version / node -e 0 (medians)', 'x', ratios.versionOverNode, 'target <= 1.5');
    res.value(SECTION, 'ratio: reflexgen check --staged / node -e 0 (medians)', 'x', ratios.checkStagedOverNode, 'target <= 1.5');
    res.value(SECTION, 'ratio: reflexgen check --staged, nothing staged / node -e 0', 'x', ratios.checkNothingStagedOverNode);
    res.value(SECTION, 'ratio: full CLI --version / node -e 0', 'x', ratios.fullVersionOverNode);
    res.value(SECTION, 'ratio: full CLI check --staged / node -e 0', 'x', ratios.fullCheckStagedOverNode);
    res.value(SECTION, 'analyzer runs during the check samples', 'count', (after.cache?.analyzerRuns ?? 0) - (before.cache?.analyzerRuns ?? 0), '0 = every answer from the cache');
    return ratios;
  } finally {
    await home.stop();
  }
}

/** `node dist/bench/cli-startup.js [runs]`: this section alone. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const { Results, formatTable } = await import('./util.js');
  const res = new Results();
  const r = await benchCliStartup(res, Number(process.argv[2]) || 15);
  process.stdout.write(formatTable(res.rows) + '\n' + JSON.stringify(r) + '\n');
}
