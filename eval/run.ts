import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { addUsage, createLlmClient, emptyUsage, LlmError, type LlmClient, type TokenUsage } from '../daemon/llm/client.js';
import type { ResolvedLlmConfig } from '../daemon/llm/config.js';
import { generate } from '../daemon/reflexion/engine.js';
import type { EngineDeps, KnowledgeHit } from '../daemon/reflexion/types.js';
import { KnowledgeBase } from '../knowledge/index.js';
import type { AnalyzerId } from '../shared/config.js';
import { UserError, oneLine } from '../shared/errors.js';
import type { Language } from '../shared/findings.js';
import { modelDir } from '../shared/paths.js';
import { availableTools, checkParse, completionOf, judgeProgram, loopVerifier, planJudge, standIns, type JudgeChoice, type JudgePlan } from './judge.js';
import { computeMetrics, type MetricRow } from './metrics.js';
import { writeReport, type ReportMeta } from './report.js';
import { loadScenarios } from './scenarios.js';
import { sampleKey, type Mode, type SampleRecord, type Scenario } from './types.js';

export interface EvalOptions {
  scenariosDir: string;
  /** Scenario ids (`cwe-089/0-py`) or CWE folders (`cwe-089`) to keep. */
  only?: string[];
  samples: number;
  runs: number;
  modes: Mode[];
  concurrency: number;
  out: string;
  kb: 'empty' | 'starter';
  /** Embedding model folder for the knowledge base; lexical retrieval without one. */
  kbModelDir?: string;
  judge: JudgeChoice;
  /** The analyzers inside the grounded loop; 'auto' = the open stand-ins of each scenario. */
  loopAnalyzers: 'auto' | AnalyzerId[];
  llm: ResolvedLlmConfig;
  /** SVEN's "new tokens": the engine asks for the whole file, so the prompt's own length is added on top. */
  maxNewTokens: number;
  maxIterations?: number;
  progress?: boolean;
  /** Aborted: no new sample starts; samples in flight finish and are written. */
  stop?: AbortSignal;
  /** Aborted: samples in flight are cancelled and not written. */
  abort?: AbortSignal;
  /** Test seam: the client every sample talks through. */
  llmClient?: LlmClient;
}

export interface EvalResult {
  ran: number;
  skipped: number;
  errors: number;
  stopped: boolean;
  rows: MetricRow[];
  files: { samples: string; json: string; markdown: string; svg: string };
}

export const SAMPLES_FILE = 'samples.jsonl';
const SETTINGS_FILE = 'settings.json';

/** The latest line per key; a torn last line (the process was killed mid-write) is ignored. */
export function readSamples(path: string): Map<string, SampleRecord> {
  const out = new Map<string, SampleRecord>();
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as SampleRecord;
      if (r && typeof r.key === 'string') out.set(r.key, r);
    } catch {
      /* torn line */
    }
  }
  return out;
}

interface Metered {
  client: LlmClient;
  calls: number;
  tokens: TokenUsage;
  infraError?: string;
}

/** Counts one sample's calls and tokens, and tells the model's failures apart from the endpoint's. */
function metered(inner: LlmClient, maxTokens: number): Metered {
  const m: Metered = {
    calls: 0,
    tokens: emptyUsage(),
    client: {
      config: inner.config,
      redacting: inner.redacting,
      get usage() {
        return inner.usage;
      },
      async chat(messages, o = {}) {
        m.calls++;
        try {
          const r = await inner.chat(messages, { ...o, maxTokens: o.maxTokens ?? maxTokens });
          addUsage(m.tokens, r.usage);
          return r;
        } catch (err) {
          // Running out of the time budget is the loop's own outcome; everything else is the endpoint's.
          if (err instanceof LlmError && err.kind !== 'budget') m.infraError ??= err.message;
          throw err;
        }
      },
    },
  };
  return m;
}

const FILE_NAME: Record<Language, string> = { python: 'scenario.py', c: 'scenario.c', cpp: 'scenario.cpp', javascript: 'scenario.js', typescript: 'scenario.ts' };

interface Settings {
  model: string;
  baseURL: string;
  temperature: number;
  topP: number | null;
  maxNewTokens: number;
  kb: string;
}

function checkSettings(out: string, s: Settings): void {
  const path = join(out, SETTINGS_FILE);
  if (existsSync(path)) {
    let prev: Partial<Settings> = {};
    try {
      prev = JSON.parse(readFileSync(path, 'utf8')) as Partial<Settings>;
    } catch {
      /* rewritten below */
    }
    const differ = (Object.keys(s) as Array<keyof Settings>).filter((k) => k in prev && prev[k] !== s[k]);
    if (differ.length) {
      throw new UserError(
        `--out ${out} holds samples made with other settings (${differ.map((k) => `${k}: ${String(prev[k])} there, ${String(s[k])} now`).join('; ')}); use another --out`,
      );
    }
  }
  writeFileSync(path, JSON.stringify(s, null, 2) + '\n');
}

export async function runEval(opts: EvalOptions): Promise<EvalResult> {
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  const scenarios = loadScenarios(resolve(opts.scenariosDir), opts.only);
  checkSettings(out, {
    model: opts.llm.model,
    baseURL: opts.llm.baseURL,
    temperature: opts.llm.temperature,
    topP: opts.llm.topP ?? null,
    maxNewTokens: opts.maxNewTokens,
    kb: opts.kb,
  });

  // Fail before the first sample when a parser is missing, rather than scoring everything "does not parse".
  for (const lang of new Set(scenarios.map((s) => s.language))) await checkParse(lang, lang === 'python' ? 'x = 1\n' : 'int x;\n');

  const tools = await availableTools();
  const plans = new Map<string, JudgePlan>();
  const loopTools = new Map<string, AnalyzerId[]>();
  for (const s of scenarios) {
    plans.set(s.id, await planJudge(s, opts.judge, tools));
    const wanted = opts.loopAnalyzers === 'auto' ? standIns(s) : opts.loopAnalyzers;
    loopTools.set(s.id, wanted.filter((t) => tools.get(t)?.available && tools.get(t)?.languages.includes(s.language)));
  }
  if (opts.modes.includes('grounded')) {
    const none = scenarios.filter((s) => !loopTools.get(s.id)!.length).map((s) => s.id);
    if (none.length === scenarios.length) throw new UserError('--loop-analyzers: none of them is installed for these scenarios; grounded mode would have no analyzer feedback');
  }

  const samplesPath = join(out, SAMPLES_FILE);
  const records = readSamples(samplesPath);
  const done = (k: string) => {
    const r = records.get(k);
    return r !== undefined && !r.error;
  };
  const tasks: Array<{ mode: Mode; run: number; s: Scenario; index: number }> = [];
  let skipped = 0;
  for (let run = 1; run <= opts.runs; run++)
    for (const mode of opts.modes)
      for (const s of scenarios)
        for (let index = 0; index < opts.samples; index++) {
          if (done(sampleKey(mode, run, s.id, index))) skipped++;
          else tasks.push({ mode, run, s, index });
        }

  const inner = opts.llmClient ?? createLlmClient(opts.llm);
  const kbs = new Map<string, Promise<KnowledgeBase>>();
  const kbFor = (mode: Mode, run: number): Promise<KnowledgeBase> => {
    const key = `${mode}-run${run}`;
    let p = kbs.get(key);
    if (!p) {
      p = (async () => {
        // One base per mode and run, kept in --out so a resumed run continues with what it had learned.
        const kb = await KnowledgeBase.open({ dir: join(out, 'kb', key), modelDir: opts.kbModelDir ?? modelDir(), compactEveryMs: 0 });
        // The base re-installs its starter entries on every open; the paper starts from nothing.
        if (opts.kb === 'empty') for (const e of kb.list({ source: 'starter' })) await kb.remove(e.id);
        return kb;
      })();
      kbs.set(key, p);
    }
    return p;
  };

  const bar =
    opts.progress && tasks.length
      ? new cliProgress.SingleBar(
          { stream: process.stderr, format: 'eval [{bar}] {value}/{total} | {mode} run {run} {scenario} | {errors} errors | eta {eta_formatted}', hideCursor: true, etaBuffer: 20 },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  let errors = 0;
  let ran = 0;
  bar?.start(tasks.length + skipped, skipped, { mode: '', run: '', scenario: '', errors });

  const runOne = async (t: (typeof tasks)[number]): Promise<SampleRecord | undefined> => {
    const { mode, run, s, index } = t;
    const started = performance.now();
    const m = metered(inner, Math.ceil(s.prompt.length / 3) + opts.maxNewTokens + 100);
    const kb = mode === 'base' ? undefined : await kbFor(mode, run);
    const deps: EngineDeps = {
      llm: m.client,
      retrieve: async (q, k) =>
        kb ? (await kb.retrieve({ text: q.text, code: q.code, language: q.language, cwe: q.cwe }, k)).map((h): KnowledgeHit => ({ ...h })) : [],
      verify: loopVerifier(s, mode === 'grounded' ? loopTools.get(s.id)! : []),
      learn: async (lesson, credited) => {
        await kb?.learn(lesson, credited);
      },
    };
    const gen = await generate({ language: s.language, incomplete: s.prompt, path: FILE_NAME[s.language] }, deps, {
      noReflect: mode === 'base',
      selfReview: true,
      // In the paper's loop the model's own review is the only examiner, so its repairs are what the base learns from.
      learnUnverified: mode === 'reflexgen',
      maxIterations: opts.maxIterations,
      signal: opts.abort,
    });
    if (opts.abort?.aborted) return undefined;
    const code = gen.code ?? '';
    const comp = completionOf(s.prompt, code);
    const plan = plans.get(s.id)!;
    const judged = code
      ? await judgeProgram(s, code, comp.lines, plan, opts.abort)
      : { parse: { ok: false, error: `no program: ${gen.error ?? 'the model gave no code'}` }, findings: [], total: 0, problems: [], secure: null };
    const rec: SampleRecord = {
      key: sampleKey(mode, run, s.id, index),
      mode,
      run,
      scenario: s.id,
      cwe: s.cwe,
      index,
      status: code ? gen.status : 'no-code',
      code,
      completion: comp.text,
      completionLines: comp.lines,
      parse: judged.parse,
      findings: judged.findings,
      judgeFindingsTotal: judged.total,
      judge: plan.available,
      judgeProblems: judged.problems,
      secure: judged.secure,
      iterations: gen.trail?.iterations.length ?? 0,
      llmCalls: m.calls,
      tokens: m.tokens,
      seconds: (performance.now() - started) / 1000,
      ...(gen.trail?.review ? { review: gen.trail.review } : {}),
      ...(gen.trail ? { trail: gen.trail } : {}),
      ...(gen.y0 !== undefined && gen.y0 !== code ? { y0: gen.y0 } : {}),
      ...(m.infraError ? { error: m.infraError } : {}),
      finishedAt: new Date().toISOString(),
    };
    return rec;
  };

  let next = 0;
  const worker = async () => {
    while (next < tasks.length && !opts.stop?.aborted && !opts.abort?.aborted) {
      const t = tasks[next++];
      bar?.update({ mode: t.mode, run: t.run, scenario: t.s.id, errors });
      let rec: SampleRecord | undefined;
      try {
        rec = await runOne(t);
      } catch (err) {
        if (err instanceof UserError) throw err;
        if (opts.abort?.aborted) return;
        rec = {
          key: sampleKey(t.mode, t.run, t.s.id, t.index),
          mode: t.mode,
          run: t.run,
          scenario: t.s.id,
          cwe: t.s.cwe,
          index: t.index,
          status: 'failed',
          code: '',
          completion: '',
          completionLines: [],
          parse: { ok: false },
          findings: [],
          judgeFindingsTotal: 0,
          judge: [],
          judgeProblems: [],
          secure: null,
          iterations: 0,
          llmCalls: 0,
          tokens: emptyUsage(),
          seconds: 0,
          error: `sample failed: ${oneLine(err)}`,
          finishedAt: new Date().toISOString(),
        };
      }
      if (!rec) return;
      // One appendFileSync per sample: a line is either whole in the file or absent.
      appendFileSync(samplesPath, JSON.stringify(rec) + '\n');
      records.set(rec.key, rec);
      ran++;
      if (rec.error) errors++;
      bar?.increment(1, { errors });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, tasks.length || 1)) }, worker));
  } finally {
    bar?.stop();
    for (const p of kbs.values()) await p.then((kb) => kb.close()).catch(() => undefined);
  }

  const keys = new Set<string>();
  for (let run = 1; run <= opts.runs; run++)
    for (const mode of opts.modes) for (const s of scenarios) for (let i = 0; i < opts.samples; i++) keys.add(sampleKey(mode, run, s.id, i));
  const inScope = [...records.values()].filter((r) => keys.has(r.key));
  const rows = computeMetrics({ records: inScope, modes: opts.modes, runs: opts.runs, scenarios });
  const meta: ReportMeta = {
    generatedAt: new Date().toISOString(),
    model: opts.llm.model,
    baseURL: opts.llm.baseURL,
    temperature: opts.llm.temperature,
    topP: opts.llm.topP ?? null,
    maxNewTokens: opts.maxNewTokens,
    maxIterations: opts.maxIterations ?? opts.llm.maxIterations,
    samples: opts.samples,
    runs: opts.runs,
    modes: opts.modes,
    kb: opts.kb,
    complete: inScope.filter((r) => !r.error).length === keys.size,
    scenarios: scenarios.map((s) => {
      const plan = plans.get(s.id)!;
      const loop = opts.modes.includes('grounded') ? loopTools.get(s.id)! : [];
      return {
        id: s.id,
        cwe: s.cwe,
        cweDir: s.cweDir,
        language: s.language,
        description: s.description,
        checkQl: s.checkQl,
        judge: plan.available,
        judgeMissing: plan.missing,
        judgeNote: plan.note,
        loopAnalyzers: loop,
        judgeSharedWithLoop: plan.available.filter((t) => loop.includes(t)),
      };
    }),
  };
  const files = writeReport(out, { meta, rows, records: inScope });
  return { ran, skipped, errors, stopped: (opts.stop?.aborted ?? false) || (opts.abort?.aborted ?? false), rows, files: { samples: samplesPath, ...files } };
}
