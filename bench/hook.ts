import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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
  /** Answers the daemon gave from a remembered verdict during the samples (2 per round: hook alone + commit). */
  verdictHits: number;
  verdictMisses: number;
  /** hook alone / node -e 0 for each consecutive round of `runs` samples, in order. */
  rounds: number[];
}

export async function benchHookOverhead(res: Results, runs: number, rounds = 3): Promise<HookRatios> {
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
    const perRound: number[] = [];

    // One untimed pass of each: the page cache and git's own state are warm before sampling.
    mustSucceed(timed(process.execPath, [HOOK], { cwd: repo.dir, env }), 'hook (warm-up)');
    repo.git(['commit', '-q', '-m', 'warm-up']);
    repo.git(['reset', '-q', '--soft', 'HEAD~1']);
    await home.quiet();
    const before = await home.status();

    for (let round = 0; round < rounds; round++) {
      const n0 = node.length;
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
      perRound.push(summarize(hook.slice(n0)).median / summarize(node.slice(n0)).median);
    }
    const after = await home.status();

    const n = res.dist(SECTION, 'node -e 0', 'ms', node);
    const h = res.dist(SECTION, 'hook alone (node dist/hook/hook.cjs, cached verdict)', 'ms', hook);
    const p = res.dist(SECTION, 'git commit --no-verify (1 staged .py)', 'ms', plain);
    const c = res.dist(SECTION, 'git commit with the hook (same change)', 'ms', hooked);
    const ratios: HookRatios = {
      hookOverNode: h.median / n.median,
      commitDeltaOverNode: (c.median - p.median) / n.median,
      hookMinusNodeMs: h.median - n.median,
      commitDeltaMs: c.median - p.median,
      analyzerRunsDuringHookRuns: (after.cache?.analyzerRuns ?? 0) - (before.cache?.analyzerRuns ?? 0),
      verdictHits: (after.verdicts?.hits ?? 0) - (before.verdicts?.hits ?? 0),
      verdictMisses: (after.verdicts?.misses ?? 0) - (before.verdicts?.misses ?? 0),
      rounds: perRound,
    };
    res.value(SECTION, 'ratio: hook alone / node -e 0 (medians)', 'x', ratios.hookOverNode, 'target <= 1.2');
    perRound.forEach((r, i) => res.value(SECTION, `ratio: hook alone / node -e 0, round ${i + 1} of ${rounds} (${runs} samples each)`, 'x', r));
    res.value(SECTION, 'ratio: (commit with hook - commit without) / node -e 0', 'x', ratios.commitDeltaOverNode);
    res.value(SECTION, 'hook alone - node -e 0', 'ms', ratios.hookMinusNodeMs);
    res.value(SECTION, 'commit with hook - commit without', 'ms', ratios.commitDeltaMs);
    res.value(SECTION, 'analyzer runs during the hook samples', 'count', ratios.analyzerRunsDuringHookRuns, '0 = every answer from the cache');
    res.value(SECTION, 'remembered verdicts answered during the hook samples', 'count', ratios.verdictHits, `of ${2 * runs * rounds} hook runs`);

    benchHookProfile(res, home, repo.dir, Math.max(5, Math.round(runs / 3)));
    return ratios;
  } finally {
    await home.stop();
  }
}

/*
 * Where a cached-verdict hook run spends its time, from V8 CPU profiles of the real bundle
 * (node --cpu-prof): the profile starts once Node has booted and ends at exit, and every sample
 * is either JavaScript (the bundle's own, or Node's internals it calls), compiling and other native
 * work V8 reports as "(program)", the garbage collector, or "(idle)": waiting on the socket while
 * the daemon answers. Node's boot itself is `node -e 0`, measured above.
 */
function benchHookProfile(res: Results, home: BenchHome, cwd: string, runs: number): void {
  const dir = join(home.dir, 'profiles');
  mkdirSync(dir, { recursive: true });
  const buckets: Record<string, number[]> = {};
  for (let i = 0; i < runs + 1; i++) {
    for (const f of readdirSync(dir)) rmSync(join(dir, f));
    mustSucceed(timed(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, HOOK], { cwd, env: home.env }), 'hook (profiled)');
    if (i === 0) continue; // warm-up
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('node --cpu-prof wrote no profile');
    const totals = profileBuckets(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile);
    for (const [k, v] of Object.entries(totals)) (buckets[k] ??= []).push(v);
  }
  const label: Record<string, string> = {
    total: 'profile: main script start to exit',
    hook: 'profile: the hook bundle\'s own JavaScript',
    load: 'profile: loading modules (reading and compiling the bundle and the built-ins it requires)',
    node: 'profile: other Node internals called by it (net, fs, streams, timers)',
    program: 'profile: (program): compiling and other native work',
    gc: 'profile: garbage collector',
    idle: 'profile: idle (waiting for the daemon\'s answers)',
    other: 'profile: other JavaScript',
  };
  for (const k of Object.keys(label)) if (buckets[k]) res.dist(SECTION, label[k], 'ms', buckets[k]);
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export function profileBuckets(p: CpuProfile): Record<string, number> {
  const kind = new Map<number, string>();
  for (const n of p.nodes) {
    const { functionName, url } = n.callFrame;
    kind.set(
      n.id,
      functionName === '(garbage collector)'
        ? 'gc'
        : functionName === '(idle)'
          ? 'idle'
          : functionName === '(program)' || functionName === '(root)'
            ? 'program'
            : url.includes('/dist/hook/')
              ? 'hook'
              : url.startsWith('node:internal/modules/') || url === 'node:internal/bootstrap/realm' || functionName === 'compileFunction'
                ? 'load'
                : url.startsWith('node:') || url === ''
                ? 'node'
                : 'other',
    );
  }
  const out: Record<string, number> = { total: (p.endTime - p.startTime) / 1000 };
  // timeDeltas[i] is the time before sample i; it belongs to the previous sample's node.
  for (let i = 1; i < p.samples.length; i++) {
    const k = kind.get(p.samples[i - 1]) ?? 'other';
    out[k] = (out[k] ?? 0) + p.timeDeltas[i] / 1000;
  }
  return out;
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
    ['hook/cached-verdict (the cached answer\'s path)', dist('hook/cached-verdict.js')],
    ['shared/index-identity (node:crypto; daemon and slow path only)', dist('shared/index-identity.js')],
    ['hook/run-check (the slow path, loaded on a miss)', dist('hook/run-check.js')],
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
