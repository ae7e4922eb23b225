#!/usr/bin/env node
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { modelDir } from '../shared/paths.js';
import { buildVersion } from '../shared/version.js';
import { benchHookOverhead, benchImportCost, type HookRatios } from './hook.js';
import { benchCliStartup } from './cli-startup.js';
import { connectDaemon } from '../hook/client.js';
import { BenchHome, ROOT, Results, cSource, formatTable, incidents, pythonSource, sleep, timed, type BenchRepo } from './util.js';

/*
 * `npm run bench`: every number issue 6 asks for, from one run on this machine, as a table on stdout
 * and as JSON in bench-results/bench.json. No number here is asserted anywhere: the point is to see
 * them, and to compare ratios taken within the same run. Each measurement runs its own daemon in its
 * own REFLEXGEN_HOME and stops it at the end.
 */

const RUNS = {
  hook: Number(process.env.BENCH_HOOK_RUNS ?? 30),
  imports: Number(process.env.BENCH_IMPORT_RUNS ?? 10),
  verdict: Number(process.env.BENCH_VERDICT_RUNS ?? 5),
  warmCheck: Number(process.env.BENCH_WARM_RUNS ?? 10),
  coldCheck: Number(process.env.BENCH_COLD_RUNS ?? 5),
  bigWarm: Number(process.env.BENCH_BIG_WARM_RUNS ?? 5),
  bigCold: Number(process.env.BENCH_BIG_COLD_RUNS ?? 3),
  daemonStart: Number(process.env.BENCH_DAEMON_START_RUNS ?? 5),
  coldCommit: Number(process.env.BENCH_COLD_COMMIT_RUNS ?? 3),
};

const MiB = 2 ** 20;

interface CheckJson {
  verdict: string;
  analyzers: Array<{ id: string; state?: string; files?: number; cached?: number }>;
  timings: Record<string, number>;
}

type Files = Record<string, string>;

interface Scenario {
  name: string;
  files(tag: string): Files;
}

const SCENARIOS: Scenario[] = [
  { name: '1 .py file', files: (t) => ({ 'app.py': pythonSource(t) }) },
  { name: '1 .c file', files: (t) => ({ 'main.c': cSource(t) }) },
  {
    name: '100 files (50 .py + 50 .c)',
    files: (t) => {
      const out: Files = {};
      for (let i = 0; i < 50; i++) {
        out[`pkg/mod_${i}.py`] = pythonSource(`${t}-${i}`);
        out[`src/unit_${i}.c`] = cSource(`${t}-${i}`);
      }
      return out;
    },
  },
];

function stage(repo: BenchRepo, files: Files): void {
  for (const [p, c] of Object.entries(files)) repo.write(p, c);
  repo.add(...Object.keys(files));
}

function freshRepo(home: BenchHome): BenchRepo {
  const repo = home.repo();
  repo.init();
  repo.write('README.md', 'bench\n');
  repo.add('README.md');
  repo.git(['commit', '-q', '--no-verify', '-m', 'initial']);
  return repo;
}

function collect(into: Record<string, number[]>, json: CheckJson): void {
  for (const [k, v] of Object.entries(json.timings)) (into[k] ??= []).push(v);
}

/** totalMs plus the daemon's own split, so a cached check that still spends time shows where. */
function daemonTimings(res: Results, section: string, scenario: string, timings: Record<string, number[]>): void {
  for (const k of ['totalMs', 'snapshotMs', 'analyzeMs']) if (timings[k]) res.dist(section, `${scenario}: daemon timings.${k}`, 'ms', timings[k]);
}

function check(home: BenchHome, repo: BenchRepo): { wall: number; json: CheckJson } {
  const r = home.cli(['check', '--staged', '--format', 'json'], repo.dir);
  // Exit 1 is a blocking verdict, still a timing; anything else is a broken run.
  if (r.code !== 0 && r.code !== 1) throw new Error(`reflexgen check failed (exit ${r.code}): ${r.stderr.trim()}`);
  const json = JSON.parse(r.stdout) as CheckJson;
  return { wall: r.ms, json };
}

function allCached(json: CheckJson): boolean {
  // Skipped analyzers (disabled, missing) report files but never a cache count.
  const ran = json.analyzers.filter((a) => a.state === 'ok' && (a.files ?? 0) > 0);
  return ran.length > 0 && ran.every((a) => a.cached === a.files);
}

// ---- git add -> verdict ready ---------------------------------------------------------------------

async function benchVerdictReady(res: Results): Promise<void> {
  const section = 'git add -> verdict ready';
  const home = new BenchHome();
  try {
    await home.start();
    const repo = freshRepo(home);
    for (const [label, file, src] of [
      ['1 .py file', 'app.py', pythonSource],
      ['1 .c file', 'main.c', cSource],
    ] as const) {
      const samples: number[] = [];
      // Run -1 is untimed: the analyzers' one-time version probes belong to daemon start, not to `git add`.
      for (let i = -1; i < RUNS.verdict; i++) {
        repo.write(file, src(`verdict-${i}`));
        const before = await home.status();
        const t0 = performance.now();
        repo.add(file);
        await home.settled(before, { needRuns: true, pollMs: 5 });
        if (i >= 0) samples.push(performance.now() - t0);
      }
      const proof = check(home, repo);
      res.dist(section, label, 'ms', samples, `incl. git add + ${process.env.REFLEXGEN_WATCH_DEBOUNCE_MS ?? 150} ms debounce; next check all-cached: ${allCached(proof.json)}`);
    }
  } finally {
    await home.stop();
  }
}

// ---- commit-time check latency -----------------------------------------------------------------

async function benchCheckWarm(res: Results): Promise<{ rssAfterMiB: number }> {
  const section = 'check, pre-analyzed (warm)';
  const home = new BenchHome();
  try {
    await home.start();
    for (const sc of SCENARIOS) {
      const repo = freshRepo(home);
      const before = await home.status();
      stage(repo, sc.files('warm'));
      await home.settled(before, { needRuns: true, timeoutMs: 300_000 });
      const runs = sc.name.startsWith('100') ? RUNS.bigWarm : RUNS.warmCheck;
      const wall: number[] = [];
      const timings: Record<string, number[]> = {};
      let cached = 0;
      for (let i = 0; i < runs; i++) {
        const r = check(home, repo);
        wall.push(r.wall);
        collect(timings, r.json);
        if (allCached(r.json)) cached++;
      }
      res.dist(section, `${sc.name}: reflexgen check wall`, 'ms', wall, `${cached}/${runs} all-cached`);
      daemonTimings(res, section, sc.name, timings);
    }
    const s = await home.status();
    return { rssAfterMiB: s.memory.rss / MiB };
  } finally {
    await home.stop();
  }
}

async function benchCheckCold(res: Results): Promise<void> {
  const section = 'check, no pre-analysis (cold)';
  // A debounce of an hour keeps the watcher from ever starting a job during the samples, and without
  // the disk cache every sample's new blob is a miss: this is the commit-time cost without the daemon's
  // head start (analyzers already probed, as on any warm daemon).
  const home = new BenchHome({ REFLEXGEN_WATCH_DEBOUNCE_MS: '3600000', REFLEXGEN_NO_DISK_CACHE: '1' });
  try {
    await home.start();
    const probe = freshRepo(home);
    stage(probe, { 'probe.py': pythonSource('probe'), 'probe.c': cSource('probe') });
    check(home, probe);
    for (const sc of SCENARIOS) {
      const repo = freshRepo(home);
      const runs = sc.name.startsWith('100') ? RUNS.bigCold : RUNS.coldCheck;
      const wall: number[] = [];
      const timings: Record<string, number[]> = {};
      let misses = 0;
      for (let i = 0; i < runs; i++) {
        stage(repo, sc.files(`cold-${i}`));
        const r = check(home, repo);
        wall.push(r.wall);
        collect(timings, r.json);
        if (r.json.analyzers.every((a) => !a.cached)) misses++;
      }
      res.dist(section, `${sc.name}: reflexgen check wall`, 'ms', wall, `${misses}/${runs} with no cache hit`);
      daemonTimings(res, section, sc.name, timings);
    }
  } finally {
    await home.stop();
  }
}

// ---- cold start ----------------------------------------------------------------------------------

/** Spawn of the daemon process (as the client starts it) until it answers hello on its socket. */
async function spawnToAnswer(): Promise<number> {
  const home = new BenchHome();
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--expose-gc', join(ROOT, 'dist', 'daemon', 'main.js')], { env: home.env, stdio: 'ignore', detached: true });
  child.unref();
  try {
    for (;;) {
      try {
        const c = await connectDaemon({ env: home.env, client: 'cli', start: false });
        const ms = performance.now() - t0;
        c.close();
        return ms;
      } catch {
        if (child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode} before it answered`);
        if (performance.now() - t0 > 60_000) throw new Error('the daemon did not answer within 60 s');
        await sleep(2);
      }
    }
  } finally {
    await home.stop();
  }
}

async function benchColdStart(res: Results): Promise<void> {
  const section = 'cold start';
  const answers: number[] = [];
  for (let i = 0; i < RUNS.daemonStart; i++) answers.push(await spawnToAnswer());
  res.dist(section, 'daemon spawn -> socket answers hello', 'ms', answers, 'pipeline, analyzers and knowledge base not loaded yet');

  // The first commit after boot: the hook finds no daemon, starts it and waits for the verdict. No
  // disk cache and no pre-analysis (an hour's debounce), so no sample is answered from earlier work.
  const home = new BenchHome({ REFLEXGEN_WATCH_DEBOUNCE_MS: '3600000', REFLEXGEN_NO_DISK_CACHE: '1' });
  try {
    await home.start();
    const repo = freshRepo(home);
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < RUNS.coldCommit; i++) {
      home.cli(['daemon', 'stop']);
      stage(repo, { 'app.py': pythonSource(`cold-commit-${i}`) });
      const c = timed('git', ['commit', '-q', '-m', `cold ${i}`], { cwd: repo.dir, env: home.env });
      if (c.code !== 0) throw new Error(`commit with a cold daemon failed (exit ${c.code}): ${c.stderr.trim()}`);
      cold.push(c.ms);
      // The same kind of commit on the daemon that commit started, for comparison.
      stage(repo, { 'app.py': pythonSource(`warm-commit-${i}`) });
      const w = timed('git', ['commit', '-q', '-m', `warm ${i}`], { cwd: repo.dir, env: home.env });
      if (w.code !== 0) throw new Error(`commit with a warm daemon failed (exit ${w.code}): ${w.stderr.trim()}`);
      warm.push(w.ms);
    }
    res.dist(section, 'first commit, no daemon running (1 .py file, hook starts the daemon)', 'ms', cold);
    res.dist(section, 'next commit, same daemon (1 .py file, not pre-analyzed)', 'ms', warm);
  } finally {
    await home.stop();
  }
}

// ---- memory --------------------------------------------------------------------------------------

async function rssMiB(home: BenchHome, samples = 5): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < samples; i++) {
    xs.push((await home.status()).memory.rss / MiB);
    await sleep(100);
  }
  return xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** An installed model when the user has one, else the stand-in from bench/standin-model.ts. */
async function findModel(): Promise<{ dir: string; kind: string; cleanup(): void } | { missing: string }> {
  try {
    const spec = '../knowledge/embedder.js';
    const { locateModel } = (await import(spec)) as { locateModel(dir: string): { missing: string[] } };
    const installed = modelDir();
    if (locateModel(installed).missing.length === 0) return { dir: installed, kind: 'installed model', cleanup: () => undefined };
  } catch {
    /* knowledge/ not built: fall through to the stand-in */
  }
  try {
    const spec = './standin-model.js';
    const m = (await import(spec)) as { writeStandinModel(root: string, cfg?: unknown): string; MINILM_CONFIG: unknown };
    const dir = mkdtempSync(join(tmpdir(), 'rxb-model-'));
    m.writeStandinModel(dir, m.MINILM_CONFIG);
    return { dir, kind: 'stand-in, MiniLM-L6 shape, int8 weights as in model_quantized.onnx', cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    return { missing: (err as Error).message.split('\n')[0] };
  }
}

async function benchMemory(res: Results, rssAfterWarm: number | undefined): Promise<void> {
  const section = 'daemon memory';
  const home = new BenchHome();
  try {
    await home.start();
    await sleep(500);
    res.value(section, 'RSS idle, fresh daemon', 'MiB', await rssMiB(home));
  } finally {
    await home.stop();
  }
  if (rssAfterWarm !== undefined) res.value(section, 'RSS after the pre-analyzed check runs (4 repos, 102 blobs cached)', 'MiB', rssAfterWarm);

  const model = await findModel();
  if ('missing' in model) {
    res.note(`daemon memory with the embedding model: skipped (${model.missing})`);
    return;
  }
  const withModel = new BenchHome({ REFLEXGEN_MODEL_DIR: model.dir });
  try {
    await withModel.start();
    const idle = await rssMiB(withModel, 3);
    const t0 = performance.now();
    // The first kb.* request opens the knowledge base, which loads the model and embeds the starter entries.
    const stats = await withModel.request<{ embeddings: { lexicalOnly: boolean; reason?: string } }>('kb.stats', {});
    const openMs = performance.now() - t0;
    await sleep(300);
    const loaded = await rssMiB(withModel);
    if (stats.embeddings.lexicalOnly) {
      res.note(`daemon memory with the embedding model: the model did not load (${stats.embeddings.reason ?? 'no reason given'}); RSS with the lexical-only knowledge base reported instead`);
    }
    const what = stats.embeddings.lexicalOnly ? 'knowledge base open, lexical only' : `embedding model loaded (${model.kind})`;
    res.value(section, `RSS idle before the knowledge base opens`, 'MiB', idle);
    res.value(section, `RSS with ${what}`, 'MiB', loaded);
    res.value(section, `first kb request (open knowledge base${stats.embeddings.lexicalOnly ? '' : ' + load model'})`, 'ms', openMs);
  } catch (err) {
    res.note(`daemon memory with the embedding model: failed (${(err as Error).message.split('\n')[0]})`);
  } finally {
    await withModel.stop();
    model.cleanup();
  }
}

/**
 * RSS before, during (peak of 20 ms polls) and after a 50 MB staged source file: over maxFileBytes,
 * so the daemon must take its size from git and never read it. "After" is taken once the daemon
 * has been quiet for a few seconds (it collects its garbage then).
 */
async function benchBigFile(res: Results): Promise<void> {
  const section = 'daemon memory';
  const home = new BenchHome();
  try {
    await home.start();
    const repo = freshRepo(home);
    let before = await home.status();
    stage(repo, { 'app.py': pythonSource('big-before') });
    await home.settled(before, { needRuns: true });
    check(home, repo);
    await sleep(3000);
    const rssBefore = await rssMiB(home);
    let peak = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        peak = Math.max(peak, (await home.status()).memory.rss / MiB);
        await sleep(20);
      }
    })();
    const line = 'total = total + compute(alpha, beta, gamma)  # filler line of a generated file\n';
    repo.write('data/generated.py', line.repeat(Math.ceil((50 * 1024 * 1024) / line.length)));
    before = await home.status();
    repo.add('data/generated.py');
    await home.settled(before, { timeoutMs: 300_000 });
    const r = check(home, repo);
    polling = false;
    await poller;
    await sleep(3000);
    const rssAfter = await rssMiB(home);
    const skipped = (r.json as CheckJson & { notAnalyzed?: Array<{ path: string; reason: string }> }).notAnalyzed?.find((n) => n.path === 'data/generated.py');
    res.value(section, 'RSS before a 50 MB staged file (1 small file checked)', 'MiB', rssBefore);
    res.value(section, 'RSS peak while git add (watcher) + check of the 50 MB file', 'MiB', peak);
    res.value(section, 'RSS after the 50 MB file, daemon quiet for 3 s', 'MiB', rssAfter);
    res.note(`50 MB staged file: ${skipped ? skipped.reason : 'NOT reported as not analyzed'}; check took ${r.wall.toFixed(0)} ms`);
  } finally {
    await home.stop();
  }
}

// ---- components benchmarked by their own issues ----------------------------------------------------

async function benchComponents(res: Results): Promise<void> {
  try {
    const spec = '../daemon/rules/bench.js';
    const m = (await import(spec)) as {
      benchBuiltinRules?(runs?: number): Promise<Array<{ language: string; lines: number; medianMs: number; minMs: number; maxMs: number; findings: number }>>;
    };
    if (!m.benchBuiltinRules) throw new Error('benchBuiltinRules is not exported');
    const runs = 20;
    for (const r of await m.benchBuiltinRules(runs)) {
      res.rows.push({ section: 'built-in rules', name: `${r.language}, ${r.lines}-line file (${r.findings} findings)`, unit: 'ms', n: runs, median: r.medianMs, p90: NaN, min: r.minMs, max: r.maxMs });
    }
  } catch (err) {
    res.note(`built-in rules: skipped (${(err as Error).message.split('\n')[0]})`);
  }
  try {
    const spec = './knowledge.js';
    const m = (await import(spec)) as {
      benchKnowledge?(opts?: { sizes?: number[]; queries?: number }): Promise<{ rows: Array<{ name: string; value: number; unit: string }>; model: string }>;
    };
    if (!m.benchKnowledge) throw new Error('benchKnowledge is not exported');
    // 100k entries take minutes to index on two cores: only with `npm run bench -- --kb-100k`.
    const sizes = process.argv.includes('--kb-100k') ? [1_000, 10_000, 100_000] : [1_000, 10_000];
    const { rows, model } = await m.benchKnowledge({ sizes, queries: 30 });
    for (const r of rows) res.value('knowledge base', r.name, r.unit, r.value);
    res.note(`knowledge base: embedding model = ${model}`);
  } catch (err) {
    res.note(`knowledge base: skipped (${(err as Error).message.split('\n')[0]})`);
  }
}

// ---- run -----------------------------------------------------------------------------------------

/** `--only <words>`: run just the sections whose name contains one of the comma-separated words. */
const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1].split(',').map((w) => w.trim()).filter(Boolean) : undefined;
})();

async function section<T>(res: Results, name: string, fn: () => Promise<T>): Promise<T | undefined> {
  if (ONLY && !ONLY.some((w) => name.includes(w))) return undefined;
  const t0 = performance.now();
  process.stderr.write(`bench: ${name}...`);
  try {
    const out = await fn();
    process.stderr.write(` ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    return out;
  } catch (err) {
    process.stderr.write(` failed\n`);
    res.note(`${name}: FAILED: ${(err as Error).stack ?? String(err)}`);
    return undefined;
  }
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  // Other work on the machine skews every number; the load average says how much there was.
  const loadBefore = loadavg()[0];
  const res = new Results();
  const ratios = await section<HookRatios>(res, 'hook overhead', () => benchHookOverhead(res, RUNS.hook));
  const imports = await section(res, 'hook import cost', async () => benchImportCost(res, RUNS.imports));
  await section(res, 'CLI start-up', () => benchCliStartup(res, RUNS.hook));
  await section(res, 'git add -> verdict ready', () => benchVerdictReady(res));
  const warm = await section(res, 'check latency, pre-analyzed', () => benchCheckWarm(res));
  await section(res, 'check latency, no pre-analysis', () => benchCheckCold(res));
  await section(res, 'cold start', () => benchColdStart(res));
  await section(res, 'daemon memory', () => benchMemory(res, warm?.rssAfterMiB));
  await section(res, 'daemon memory, 50 MB staged file', () => benchBigFile(res));
  await section(res, 'built-in rules and knowledge base', () => benchComponents(res));
  const durationS = (performance.now() - started) / 1000;
  const loadAfter = loadavg()[0];
  for (const i of incidents) res.note(i);

  const cpu = cpus();
  const machine = `${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${process.platform}`;
  const out: string[] = [];
  out.push(`RefleXGen benchmark: ${machine}, build ${buildVersion()}${gitCommit() ? ` (commit ${gitCommit()})` : ''}`);
  out.push('');
  out.push(formatTable(res.rows));
  if (ratios) {
    out.push('');
    out.push(
      `hook alone / node -e 0:                        ${ratios.hookOverNode.toFixed(2)}x  (${ratios.hookMinusNodeMs.toFixed(1)} ms over node -e 0; target <= 1.2x: ${ratios.hookOverNode <= 1.2 ? 'met' : 'NOT met'})`,
    );
    out.push(`  per round of ${RUNS.hook} samples:                ${ratios.rounds.map((r) => `${r.toFixed(2)}x`).join(', ')}`);
    out.push(`(commit with hook - without) / node -e 0:      ${ratios.commitDeltaOverNode.toFixed(2)}x  (the hook adds ${ratios.commitDeltaMs.toFixed(1)} ms)`);
    out.push(`remembered verdicts answered: ${ratios.verdictHits}, misses: ${ratios.verdictMisses}; analyzer runs during the samples: ${ratios.analyzerRunsDuringHookRuns}`);
  }
  if (imports) {
    out.push('');
    out.push('import cost over an empty ESM process, largest first (inclusive of dependencies):');
    for (const m of [...imports].sort((a, b) => b.overBaselineMs - a.overBaselineMs)) out.push(`  ${m.module.padEnd(52)} +${m.overBaselineMs.toFixed(1)} ms`);
  }
  if (res.notes.length) {
    out.push('');
    for (const n of res.notes) out.push(`note: ${n}`);
  }
  out.push('');
  out.push(`total bench time ${durationS.toFixed(0)} s; 1-minute load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after (${cpu.length} cores)`);
  process.stdout.write(out.join('\n') + '\n');

  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'bench.json');
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { cpus: cpu.length, cpuModel: cpu[0]?.model.trim(), node: process.version, platform: process.platform },
        build: buildVersion(),
        commit: gitCommit(),
        runs: RUNS,
        durationS,
        loadAverage: { before: loadBefore, after: loadAfter },
        ratios,
        importCost: imports,
        rows: res.rows,
        notes: res.notes,
        samples: res.samples,
      },
      (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
      2,
    ) + '\n',
  );
  process.stdout.write(`wrote ${file}\n`);
  // Knowledge-base timers or model threads must not keep the bench alive.
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
