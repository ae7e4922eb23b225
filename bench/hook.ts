import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BenchHome, HOOK, ROOT, mustSucceed, pythonSource, summarize, timed, type Results } from './util.js';

/*
 * What the git hook costs a commit when the daemon is warm and the staged blob is already cached:
 * the hook process alone, the same commit with and without the hook, and `node -e 0` as the floor
 * every Node program pays. Samples are interleaved round by round so that machine noise lands on
 * all series alike, and every ratio is taken within this one run.
 */

const SECTION = 'hook overhead';

export interface HookRatios {
  hookOverNode: number;
  commitDeltaOverNode: number;
  hookMinusNodeMs: number;
  commitDeltaMs: number;
  analyzerRunsDuringHookRuns: number;
}

export async function benchHookOverhead(res: Results, runs: number): Promise<HookRatios> {
  const home = new BenchHome();
  try {
    await home.start();
    const repo = home.repo();
    repo.init();
    repo.write('README.md', 'bench\n');
    repo.add('README.md');
    repo.git(['commit', '-q', '--no-verify', '-m', 'initial']);

    const s0 = await home.status();
    repo.write('app.py', pythonSource('hook'));
    repo.add('app.py');
    await home.settled(s0, { needRuns: true });

    const env = home.env;
    const node: number[] = [];
    const hook: number[] = [];
    const plain: number[] = [];
    const hooked: number[] = [];

    // One untimed pass of each: the page cache and git's own state are warm before sampling.
    mustSucceed(timed(process.execPath, [HOOK], { cwd: repo.dir, env }), 'hook (warm-up)');
    repo.git(['commit', '-q', '-m', 'warm-up']);
    repo.git(['reset', '-q', '--soft', 'HEAD~1']);
    await home.quiet();
    const before = await home.status();

    for (let i = 0; i < runs; i++) {
      node.push(mustSucceed(timed(process.execPath, ['-e', '0'], { cwd: repo.dir, env }), 'node -e 0').ms);
      hook.push(mustSucceed(timed(process.execPath, [HOOK], { cwd: repo.dir, env }), 'hook').ms);

      plain.push(mustSucceed(timed('git', ['commit', '-q', '--no-verify', '-m', `plain ${i}`], { cwd: repo.dir, env }), 'git commit --no-verify').ms);
      repo.git(['reset', '-q', '--soft', 'HEAD~1']);
      // The commit and the reset touch the index: let the watcher's re-check (all cache hits) finish
      // so that it does not compete with the next sample for the two cores.
      await home.quiet();

      hooked.push(mustSucceed(timed('git', ['commit', '-q', '-m', `hooked ${i}`], { cwd: repo.dir, env }), 'git commit (hook)').ms);
      repo.git(['reset', '-q', '--soft', 'HEAD~1']);
      await home.quiet();
    }
    const after = await home.status();

    const n = res.dist(SECTION, 'node -e 0', 'ms', node);
    const h = res.dist(SECTION, 'hook alone (node dist/hook/hook.mjs, cached verdict)', 'ms', hook);
    const p = res.dist(SECTION, 'git commit --no-verify (1 staged .py)', 'ms', plain);
    const c = res.dist(SECTION, 'git commit with the hook (same change)', 'ms', hooked);
    const ratios: HookRatios = {
      hookOverNode: h.median / n.median,
      commitDeltaOverNode: (c.median - p.median) / n.median,
      hookMinusNodeMs: h.median - n.median,
      commitDeltaMs: c.median - p.median,
      analyzerRunsDuringHookRuns: (after.cache?.analyzerRuns ?? 0) - (before.cache?.analyzerRuns ?? 0),
    };
    res.value(SECTION, 'ratio: hook alone / node -e 0 (medians)', 'x', ratios.hookOverNode);
    res.value(SECTION, 'ratio: (commit with hook - commit without) / node -e 0', 'x', ratios.commitDeltaOverNode, 'target <= 1.5');
    res.value(SECTION, 'hook alone - node -e 0', 'ms', ratios.hookMinusNodeMs);
    res.value(SECTION, 'commit with hook - commit without', 'ms', ratios.commitDeltaMs);
    res.value(SECTION, 'analyzer runs during the hook samples', 'count', ratios.analyzerRunsDuringHookRuns, '0 = every answer from the cache');

    await benchHookPhases(res, home, repo.dir, Math.max(5, Math.round(runs / 3)));
    return ratios;
  } finally {
    await home.stop();
  }
}

/*
 * Where the hook's time goes, measured inside a fresh process doing what hook/main.ts does, step by
 * step: Node's own boot (performance.now() at the first line), module loading, the git plumbing,
 * the config, connect + hello, and the `check` round trip.
 */
async function benchHookPhases(res: Results, home: BenchHome, cwd: string, runs: number): Promise<void> {
  const url = (p: string) => pathToFileURL(join(ROOT, 'dist', p)).href;
  const script = join(home.dir, 'phases.mjs');
  writeFileSync(
    script,
    `const t0 = performance.now();
const rc = await import(${JSON.stringify(url('hook/run-check.js'))});
await import(${JSON.stringify(url('hook/render.js'))});
const cfgMod = await import(${JSON.stringify(url('shared/config-hints.js'))});
const clientMod = await import(${JSON.stringify(url('hook/client.js'))});
const t1 = performance.now();
const { root, gitDir, files } = await rc.collectChanges({ cwd: process.cwd(), mode: 'staged', client: 'hook' });
const t2 = performance.now();
await cfgMod.readConfigHints(root);
const t3 = performance.now();
const c = await clientMod.connectDaemon({ client: 'hook' });
const t4 = performance.now();
const r = await c.request('check', { repoRoot: root, gitDir, mode: 'staged', files });
const t5 = performance.now();
c.close();
process.stdout.write(JSON.stringify({ boot: t0, imports: t1 - t0, git: t2 - t1, config: t3 - t2, connect: t4 - t3, check: t5 - t4, total: t5, daemonMs: r.timings.totalMs ?? null }));
process.exit(0);
`,
  );
  const phases: Record<string, number[]> = {};
  for (let i = 0; i < runs + 1; i++) {
    const r = mustSucceed(timed(process.execPath, [script], { cwd, env: home.env }), 'hook phases');
    if (i === 0) continue;
    for (const [k, v] of Object.entries(JSON.parse(r.stdout) as Record<string, number | null>)) if (typeof v === 'number') (phases[k] ??= []).push(v);
  }
  const label: Record<string, string> = {
    boot: 'phase: Node boot until the first line runs',
    imports: 'phase: import hook modules, unbundled (run-check, render, config hints, client)',
    git: 'phase: git plumbing (one diff --cached; no rev-parse inside a hook)',
    config: 'phase: read failMode from .reflexgenrc.json',
    connect: 'phase: connect + hello (WebSocket over the Unix socket)',
    check: 'phase: check round trip (cached)',
    daemonMs: 'phase: daemon-side check timings.totalMs',
    total: 'phase: sum to verdict (before exit)',
  };
  for (const k of ['boot', 'imports', 'git', 'config', 'connect', 'check', 'daemonMs', 'total']) if (phases[k]) res.dist(SECTION, label[k], 'ms', phases[k]);
}

/*
 * The import cost of each module on the hook's path, inclusive of what it pulls in, as the
 * difference to an ESM process that imports nothing. Tells what to make lazy or drop.
 */
export function benchImportCost(res: Results, runs: number): Array<{ module: string; medianMs: number; overBaselineMs: number }> {
  const section = 'hook import cost';
  const dist = (p: string) => pathToFileURL(join(ROOT, 'dist', p)).href;
  const modules: Array<[string, string]> = [
    ['picocolors', 'picocolors'],
    ['ws', 'ws'],
    ['zod', 'zod'],
    ['zod/mini (the lighter zod entry)', 'zod/mini'],
    ['node:net + node:crypto (floor for a hand-rolled socket client)', 'node:net'],
    ['shared/errors', dist('shared/errors.js')],
    ['shared/findings', dist('shared/findings.js')],
    ['shared/protocol', dist('shared/protocol.js')],
    ['shared/config', dist('shared/config.js')],
    ['shared/git', dist('shared/git.js')],
    ['shared/staged', dist('shared/staged.js')],
    ['hook/render', dist('hook/render.js')],
    ['hook/client', dist('hook/client.js')],
    ['hook/run-check', dist('hook/run-check.js')],
    ['all of the hook (run-check + render + picocolors)', ''],
  ];
  const code = (spec: string) =>
    spec === 'node:net'
      ? `await import('node:net'); await import('node:crypto');`
      : spec === ''
      ? `await import(${JSON.stringify(dist('hook/run-check.js'))}); await import(${JSON.stringify(dist('hook/render.js'))}); await import('picocolors');`
      : `await import(${JSON.stringify(spec)});`;
  // Bare specifiers resolve against the package's node_modules only from inside it.
  const opts = { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } };
  const base: number[] = [];
  const samples = modules.map(() => [] as number[]);
  mustSucceed(timed(process.execPath, ['--input-type=module', '-e', code('')], opts), 'import (warm-up)');
  for (let i = 0; i < runs; i++) {
    base.push(mustSucceed(timed(process.execPath, ['--input-type=module', '-e', '0'], opts), 'node baseline').ms);
    modules.forEach(([, spec], j) => samples[j].push(mustSucceed(timed(process.execPath, ['--input-type=module', '-e', code(spec)], opts), `import ${spec}`).ms));
  }
  const b = res.dist(section, 'baseline: node --input-type=module -e 0', 'ms', base);
  return modules.map(([name], j) => {
    const s = res.dist(section, `import ${name}`, 'ms', samples[j], `+${(summarize(samples[j]).median - b.median).toFixed(1)} ms`);
    return { module: name, medianMs: s.median, overBaselineMs: s.median - b.median };
  });
}
