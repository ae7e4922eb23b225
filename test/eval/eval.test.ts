import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerEvalCommand } from '../../cli/eval.js';
import { resolveLlmConfig } from '../../daemon/llm/config.js';
import { GEN_SYSTEM, LESSON_SYSTEM, REFINE_SYSTEM, REVIEW_SYSTEM, WRITE_SYSTEM } from '../../daemon/reflexion/prompts.js';
import type { MetricRow } from '../../eval/metrics.js';
import { runEval, SAMPLES_FILE, type EvalOptions, type EvalResult } from '../../eval/run.js';
import { UserError } from '../../shared/errors.js';
import { startFakeLlm, type FakeHandler, type FakeLlm } from '../helpers/fake-llm.js';

const here = dirname(fileURLToPath(import.meta.url));
const SVEN = resolve(here, '../../../shared/benchmarks/sven/eval/trained');
const ONLY = ['cwe-089/0-py', 'cwe-476/0-c'];
const SAMPLES = 3;
const RUNS = 2;
const PY_PROMPT = readFileSync(join(SVEN, 'cwe-089/0-py/file_context.py'), 'utf8') + readFileSync(join(SVEN, 'cwe-089/0-py/func_context.py'), 'utf8');
const C_PROMPT = readFileSync(join(SVEN, 'cwe-476/0-c/file_context.c'), 'utf8') + readFileSync(join(SVEN, 'cwe-476/0-c/func_context.c'), 'utf8');

/*
 * The scripted model. y0 (the WRITE prompt), per scenario and in sample order 0, 1, 2:
 *   python: insecure A, insecure B, insecure A again (a duplicate);
 *   C:      insecure A, insecure B, C that does not compile.
 * The self-review always says "insecure". A repair keeps the variant of the y0 it is shown and is
 * secure, except the FIRST repair attempt of C variant B, which is still insecure (a NULL test is
 * still missing): the model's own loop accepts it, the grounded loop's analyzer rejects it and the
 * second attempt is secure.
 */
type Lang = 'py' | 'c';
type Variant = 'A' | 'B' | 'C';

function pyProgram(v: Variant, secure: boolean): string {
  const table = v === 'A' ? 'subscribers' : 'newsletter';
  const call = secure ? `cur.execute("DELETE FROM ${table} WHERE email = %s", (email,))` : `cur.execute("DELETE FROM ${table} WHERE email = '%s'" % email)`;
  return `${PY_PROMPT}\n    # VARIANT-${v}\n    cur = db.cursor()\n    ${call}\n    db.commit()\n    db.close()\n    return redirect('/')\n`;
}

function cProgram(v: Variant, secure: boolean, reviewed = false): string {
  const alloc = v === 'C' && !secure ? '    person *p = malloc(sizeof(person))' : '    person *p = malloc(sizeof(person));';
  const check = secure ? '    if (p == NULL) {\n        return 1;\n    }\n' : '';
  const extra = v === 'B' ? '    printf("%d\\n", p->status);\n' : '';
  return `${C_PROMPT}\n    // VARIANT-${v}\n${alloc}\n${reviewed ? '    // reviewed: safe\n' : ''}${check}    p->status = 0;\n${extra}    free(p);\n    return 0;\n}\n`;
}

const fenced = (lang: Lang, code: string) => `\`\`\`${lang === 'py' ? 'python' : 'c'}\n${code}\`\`\`\n`;
const LESSON = 'TITLE: Check what you were given\nLESSON: Validate inputs and results before use.';

function script(): FakeHandler {
  const written: Record<Lang, number> = { py: 0, c: 0 };
  return (req) => {
    const msgs = req.body.messages ?? [];
    const sys = msgs[0]?.content;
    const user = msgs[1]?.content ?? '';
    const lang = (/scenario\.(py|c)\b/.exec(user)?.[1] ?? /Complete this (python|c) program/.exec(user)?.[1]?.replace('python', 'py')) as Lang;
    if (sys === WRITE_SYSTEM) {
      const i = written[lang]++ % SAMPLES;
      const v: Variant = i === 0 ? 'A' : i === 1 ? 'B' : lang === 'py' ? 'A' : 'C';
      return fenced(lang, lang === 'py' ? pyProgram(v, false) : cProgram(v, false));
    }
    if (sys === REVIEW_SYSTEM) return JSON.stringify({ secure: false, cwe: [lang === 'py' ? 'CWE-89' : 'CWE-476'], reason: 'untrusted data reaches a sink' });
    if (sys === GEN_SYSTEM || sys === REFINE_SYSTEM) {
      const v = /VARIANT-([ABC])/.exec(user)![1] as Variant;
      if (lang === 'py') return fenced(lang, pyProgram(v, true)) + LESSON;
      const fooled = v === 'B' && sys === GEN_SYSTEM;
      return fenced(lang, cProgram(v, !fooled, fooled)) + LESSON;
    }
    if (sys === LESSON_SYSTEM) return '{"title": "t", "lesson": "l"}';
    return { status: 500 };
  };
}

/** What the script implies for ONE run (both runs are identical, so every std is 0). */
const EXPECTED: Record<string, Record<string, Partial<Record<string, number | null>>>> = {
  base: {
    'cwe-089/0-py': { effTotal: 2, secCount: 0, secRate: 0, passRate: 100, unresCount: 0, iterationsPerSample: 0 },
    'cwe-476/0-c': { effTotal: 2, secCount: 0, secRate: 0, passRate: (100 * 2) / 3, unresCount: 1, iterationsPerSample: 0 },
    'cwe-089': { effTotal: 2, secCount: 0, secRate: 0, passRate: 100 },
    'cwe-476': { effTotal: 2, secCount: 0, secRate: 0, passRate: (100 * 2) / 3, unresCount: 1 },
    overall: { effTotal: 4, secCount: 0, secRate: 0, passRate: 80, unresCount: 1, iterationsPerSample: 0 },
  },
  reflexgen: {
    'cwe-089/0-py': { effTotal: 2, secCount: 2, secRate: 100, passRate: 100, unresCount: 0, iterationsPerSample: 1 },
    'cwe-476/0-c': { effTotal: 3, secCount: 2, secRate: (100 * 2) / 3, passRate: 100, unresCount: 0, iterationsPerSample: 1 },
    overall: { effTotal: 5, secCount: 4, secRate: 80, passRate: 100, unresCount: 0, iterationsPerSample: 1 },
  },
  grounded: {
    'cwe-089/0-py': { effTotal: 2, secCount: 2, secRate: 100, passRate: 100, unresCount: 0, iterationsPerSample: 1 },
    'cwe-476/0-c': { effTotal: 3, secCount: 3, secRate: 100, passRate: 100, unresCount: 0, iterationsPerSample: 4 / 3 },
    overall: { effTotal: 5, secCount: 5, secRate: 100, passRate: 100, unresCount: 0, iterationsPerSample: 7 / 6 },
  },
};

let fake: FakeLlm;
let work: string;
let out: string;
let first: EvalResult;
let requestsAfterFirst = 0;

function options(over: Partial<EvalOptions> = {}): EvalOptions {
  const llm = resolveLlmConfig(
    { temperature: 0.4, topP: 0.95, maxTokens: 300, maxIterations: 3, budgetMs: 60_000, timeoutMs: 15_000, maxRetries: 0 },
    { REFLEXGEN_LLM_BASE_URL: fake.url, REFLEXGEN_LLM_MODEL: 'scripted' },
  )!;
  return {
    scenariosDir: SVEN,
    only: ONLY,
    samples: SAMPLES,
    runs: RUNS,
    modes: ['base', 'reflexgen', 'grounded'],
    concurrency: 1,
    out,
    kb: 'empty',
    kbModelDir: join(work, 'no-models'),
    judge: ['builtin'],
    loopAnalyzers: ['builtin'],
    llm,
    maxNewTokens: 300,
    progress: false,
    ...over,
  };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'reflexgen-eval-test-'));
  out = join(work, 'out');
  fake = await startFakeLlm(script());
  first = await runEval(options());
  requestsAfterFirst = fake.requests.length;
  // A whole scripted eval run: about 40 s alone on two cores, more than twice that beside the rest of
  // the suite on a loaded machine. A limit, not a measurement.
}, 240_000);

afterAll(async () => {
  await fake?.close();
  rmSync(work, { recursive: true, force: true });
});

function row(mode: string, key: string): MetricRow {
  const r = first.rows.find((x) => x.mode === mode && x.key === key);
  if (!r) throw new Error(`no row ${mode} ${key}`);
  return r;
}

describe('reflexgen eval on scripted SVEN scenarios', () => {
  it('runs every sample once, without endpoint errors', () => {
    expect(first.ran).toBe(3 * 2 * SAMPLES * RUNS);
    expect(first.skipped).toBe(0);
    expect(first.errors).toBe(0);
    // base: 1 call per sample; reflexgen: write + review + 1 repair; grounded: one more repair for C variant B.
    const perRun = 6 * 1 + 6 * 3 + (6 * 3 + 1);
    expect(requestsAfterFirst).toBe(perRun * RUNS);
  });

  it('samples at SVEN settings, with the new-token limit added to the echoed prompt', () => {
    const w = fake.requests.find((r) => r.body.messages?.[0]?.content === WRITE_SYSTEM && /python/.test(r.body.messages[1].content))!;
    expect(w.body.temperature).toBe(0.4);
    expect(w.body.top_p).toBe(0.95);
    expect(w.body.max_tokens).toBe(Math.ceil(PY_PROMPT.length / 3) + 300 + 100);
  });

  for (const [mode, keys] of Object.entries(EXPECTED)) {
    for (const [key, metrics] of Object.entries(keys)) {
      it(`${mode} ${key}: metrics are exactly what the script implies`, () => {
        const r = row(mode, key);
        for (const [name, want] of Object.entries(metrics)) {
          const s = r.summary[name as keyof MetricRow['summary']];
          expect(s.n, `${name} has a value in every run`).toBe(RUNS);
          expect(s.mean, name).toBeCloseTo(want as number, 9);
          expect(s.std, name).toBe(0);
        }
      });
    }
  }

  it('drops the duplicate and counts the program that does not compile as unresolved', () => {
    const c = row('base', 'overall').perRun[0].counts;
    expect(c).toMatchObject({ generated: 6, duplicates: 1, unique: 5, eff: 4, unres: 1, sec: 0, errors: 0 });
    const samples = readFileSync(join(out, SAMPLES_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; parse: { ok: boolean; error?: string } });
    const broken = samples.find((s) => s.key === 'base|1|cwe-476/0-c|2')!;
    expect(broken.parse.ok).toBe(false);
    expect(broken.parse.error).toMatch(/error/);
  });

  it('counts tokens and seconds per sample, and the loop costs more than y0', () => {
    const base = row('base', 'overall').summary;
    const refl = row('reflexgen', 'overall').summary;
    expect(base.tokensPerSample.mean).toBeGreaterThan(0);
    expect(refl.tokensPerSample.mean!).toBeGreaterThan(base.tokensPerSample.mean!);
    expect(base.secondsPerSample.mean).toBeGreaterThan(0);
  });

  it('lets the knowledge base start empty and fill from the run', () => {
    const report = JSON.parse(readFileSync(first.files.json, 'utf8')) as { samples: Array<{ mode: string; run: number; index: number; scenario: string; trail?: { learned: boolean; knowledgeUsed: string[] } }> };
    const refl = report.samples.filter((s) => s.mode === 'reflexgen' && s.run === 1);
    expect(refl[0].trail?.knowledgeUsed).toEqual([]);
    expect(refl.every((s) => s.trail?.learned)).toBe(true);
    expect(refl.some((s) => (s.trail?.knowledgeUsed.length ?? 0) > 0)).toBe(true);
    expect(refl.flatMap((s) => s.trail?.knowledgeUsed ?? []).every((id) => id.startsWith('repair:'))).toBe(true);
  });

  it('resumes: a second invocation makes no LLM call and gives the same numbers', async () => {
    const again = await runEval(options());
    expect(fake.requests.length).toBe(requestsAfterFirst);
    expect(again.ran).toBe(0);
    expect(again.skipped).toBe(first.ran);
    expect(again.rows.map((r) => r.summary)).toEqual(first.rows.map((r) => r.summary));
  });

  it('writes a JSON report with every sample, its code, parse result, findings and trail', () => {
    const j = JSON.parse(readFileSync(first.files.json, 'utf8')) as {
      meta: { scenarios: Array<{ id: string; judge: string[]; judgeSharedWithLoop: string[] }> };
      metrics: unknown[];
      samples: Array<{ code: string; parse: { ok: boolean }; findings: Array<{ cwe: string[] }>; duplicateOf: string | null; mode: string; trail?: unknown; secure: boolean | null }>;
    };
    expect(j.samples).toHaveLength(first.ran);
    expect(j.samples.every((s) => typeof s.code === 'string' && typeof s.parse.ok === 'boolean')).toBe(true);
    expect(j.samples.filter((s) => s.duplicateOf)).toHaveLength(3 * RUNS);
    // Duplicates keep their own verdict in the report; they are only left out of the metrics.
    const insecure = j.samples.filter((s) => s.mode === 'base' && s.secure === false);
    expect(insecure.length).toBe(5 * RUNS);
    expect(insecure.every((s) => s.findings.length > 0)).toBe(true);
    expect(j.samples.filter((s) => s.mode !== 'base').every((s) => s.trail)).toBe(true);
    expect(j.meta.scenarios.map((s) => s.judge)).toEqual([['builtin'], ['builtin']]);
    expect(j.meta.scenarios.every((s) => s.judgeSharedWithLoop.includes('builtin'))).toBe(true);
  });

  it('writes a Markdown table laid out like Table I and says when the judge is the in-loop checker', () => {
    const md = readFileSync(first.files.markdown, 'utf8');
    expect(md).toContain('| CWE | Sec.Rate base | Sec.Rate +RefleXGen | Sec.Rate +grounded | Pass Rate base | Pass Rate +RefleXGen | Pass Rate +grounded |');
    expect(md).toMatch(/\| \*\*overall\*\* \| 0\.0 ± 0\.0 \| 80\.0 ± 0\.0 \(\+80\.0\) \| 100\.0 ± 0\.0 \(\+100\.0\) \| 80\.0 ± 0\.0 \| 100\.0 ± 0\.0 \(\+20\.0\) \|/);
    expect(md).toContain('Grounded mode is judged by the same tool that checks inside its loop on 2 of 2 scenarios');
  });

  it('writes a well-formed SVG with one bar per CWE per mode', () => {
    const svg = readFileSync(first.files.svg, 'utf8');
    expect(XMLValidator.validate(svg)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(svg) as { svg: { rect: Array<Record<string, string>> } };
    const bars = doc.svg.rect.filter((r) => r.class === 'bar');
    expect(bars).toHaveLength(2 * 3);
    expect(new Set(bars.map((b) => `${b['data-cwe']}|${b['data-mode']}`)).size).toBe(6);
    const h = (cwe: string, mode: string) => Number(bars.find((b) => b['data-cwe'] === cwe && b['data-mode'] === mode)!.height);
    expect(h('cwe-476', 'base')).toBe(0);
    expect(h('cwe-476', 'grounded')).toBeGreaterThan(h('cwe-476', 'reflexgen'));
  });
});

describe('stopping (what Ctrl-C does)', () => {
  it('finishes and writes the sample in flight, starts no other, and a rerun completes the rest', async () => {
    const dir = join(work, 'stopped');
    const stop = new AbortController();
    const seen = fake.requests.length;
    const prev = fake.handler!;
    fake.handler = (req, i) => {
      stop.abort();
      return prev(req, i);
    };
    try {
      const r = await runEval(options({ out: dir, only: ['cwe-089/0-py'], runs: 1, modes: ['base'], stop: stop.signal }));
      expect(r.stopped).toBe(true);
      expect(r.ran).toBe(1);
      expect(fake.requests.length).toBe(seen + 1);
      expect(readFileSync(join(dir, SAMPLES_FILE), 'utf8').trim().split('\n')).toHaveLength(1);
      expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('Incomplete');
    } finally {
      fake.handler = prev;
    }
    const rest = await runEval(options({ out: dir, only: ['cwe-089/0-py'], runs: 1, modes: ['base'] }));
    expect(rest.skipped).toBe(1);
    expect(rest.ran).toBe(SAMPLES - 1);
  });
});

describe('reflexgen eval command line', () => {
  const cli = async (args: string[], env: Record<string, string | undefined>) => {
    const program = new Command().exitOverride();
    registerEvalCommand(program, env);
    await program.parseAsync(['node', 'reflexgen', 'eval', ...args]);
  };
  const env = () => ({ REFLEXGEN_LLM_BASE_URL: fake.url, REFLEXGEN_LLM_MODEL: 'scripted' });

  it.each([
    [['--samples', '0'], /--samples: expected an integer/],
    [['--runs', 'two'], /--runs: expected an integer/],
    [['--modes', 'base,magic'], /--modes: expected a comma-separated list/],
    [['--judge', 'sonar'], /--judge: unknown analyzer sonar/],
    [['--top-p', '0'], /--top-p: expected a number above 0/],
  ])('refuses %j with one line', async (args, msg) => {
    const err = await cli(['--scenarios', SVEN, ...args], env()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain('\n');
  });

  it('says plainly when no LLM is configured', async () => {
    const err = await cli(['--scenarios', SVEN], {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^no LLM configured: set REFLEXGEN_LLM_BASE_URL and REFLEXGEN_LLM_MODEL/);
  });

  it('runs end to end from the command line', async () => {
    const dir = join(work, 'cli-out');
    const before = fake.requests.length;
    await cli(['--scenarios', SVEN, '--only', 'cwe-089/0-py', '--samples', '1', '--runs', '1', '--modes', 'base', '--judge', 'builtin', '--out', dir, '--kb-model-dir', join(work, 'no-models'), '--no-progress'], env());
    expect(fake.requests.length).toBe(before + 1);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('| CWE-089 |');
  });
});
