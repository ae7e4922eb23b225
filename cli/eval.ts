import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ZodError } from 'zod';
import { resolveLlmConfig } from '../daemon/llm/config.js';
import { parseToolList, type JudgeChoice } from '../eval/judge.js';
import { runEval } from '../eval/run.js';
import { MODES, type Mode } from '../eval/types.js';
import { describeZodError, type AnalyzerId } from '../shared/config.js';
import { UserError } from '../shared/errors.js';

/*
 * `reflexgen eval`: the paper's experiment (Table I, Fig. 2) on the SVEN scenarios, against whatever
 * model endpoint REFLEXGEN_LLM_* names. Ctrl-C once lets the samples in flight finish and writes the
 * report; twice cancels them. Running the same command again resumes.
 */

interface EvalFlags {
  scenarios: string;
  only?: string;
  samples: string;
  runs: string;
  modes: string;
  concurrency: string;
  out: string;
  kb: 'empty' | 'starter';
  kbModelDir?: string;
  judge: string;
  loopAnalyzers: string;
  temperature: string;
  topP: string;
  maxTokens: string;
  maxIterations: string;
  budgetMs: string;
  timeoutMs: string;
  baseUrl?: string;
  model?: string;
  progress: boolean;
}

function int(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < min || n > max) throw new UserError(`${flag}: expected an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

function num(flag: string, v: string, min: number, max: number, openMin = false): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n > max || (openMin ? n <= min : n < min)) {
    throw new UserError(`${flag}: expected a number ${openMin ? 'above' : 'from'} ${min} ${openMin ? 'up to' : 'to'} ${max}, got "${v}"`);
  }
  return n;
}

export function parseModes(v: string): Mode[] {
  const ms = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = ms.filter((m) => !(MODES as readonly string[]).includes(m));
  if (!ms.length || bad.length) throw new UserError(`--modes: expected a comma-separated list of ${MODES.join(', ')}, got "${v}"`);
  return [...new Set(ms)] as Mode[];
}

export function registerEvalCommand(program: Command, env: Record<string, string | undefined> = process.env): void {
  program
    .command('eval')
    .description("reproduce the paper's Table I on the SVEN scenarios: base vs RefleXGen (vs grounded), with a JSON, Markdown and SVG report")
    .requiredOption('--scenarios <dir>', 'SVEN scenario folder, e.g. ../shared/benchmarks/sven/eval/trained')
    .option('--only <ids>', 'comma-separated scenario ids (cwe-089/0-py) or CWE folders (cwe-089) to keep')
    .option('--samples <n>', 'completions per scenario', '25')
    .option('--runs <n>', 'repetitions of the whole experiment', '5')
    .option('--modes <list>', `comma-separated: ${MODES.join(', ')}`, 'base,reflexgen,grounded')
    .option('--concurrency <n>', 'samples in flight at once', '1')
    .option('--out <dir>', 'results folder; an existing one is resumed', 'reflexgen-eval')
    .addOption(new Option('--kb <kind>', 'knowledge base at the start of each run').choices(['empty', 'starter']).default('empty'))
    .option('--kb-model-dir <dir>', 'embedding model folder for the knowledge base (default: the installed models)')
    .option('--judge <tools>', 'auto (CodeQL when installed, else the stand-ins of ANALYZERS.md) or a comma-separated analyzer list', 'auto')
    .option('--loop-analyzers <tools>', 'analyzers inside the grounded loop: auto (the open stand-ins) or a comma-separated list', 'auto')
    .option('--temperature <t>', 'sampling temperature (SVEN: 0.4)', '0.4')
    .option('--top-p <p>', 'nucleus sampling (SVEN: 0.95)', '0.95')
    .option('--max-tokens <n>', 'new tokens per completion beyond the echoed prompt (SVEN: 300)', '300')
    .option('--max-iterations <n>', 'repair iterations per sample', '3')
    .option('--budget-ms <ms>', 'time budget of one sample (generation + loop)', '600000')
    .option('--timeout-ms <ms>', 'timeout of one LLM request', '120000')
    .option('--base-url <url>', 'OpenAI-compatible endpoint (else REFLEXGEN_LLM_BASE_URL)')
    .option('--model <name>', 'model name (else REFLEXGEN_LLM_MODEL)')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (f: EvalFlags) => {
      const samples = int('--samples', f.samples, 1, 10_000);
      const runs = int('--runs', f.runs, 1, 1000);
      const concurrency = int('--concurrency', f.concurrency, 1, 256);
      const modes = parseModes(f.modes);
      const judge: JudgeChoice = f.judge.trim() === 'auto' ? 'auto' : parseToolList('--judge', f.judge);
      const loopAnalyzers: 'auto' | AnalyzerId[] = f.loopAnalyzers.trim() === 'auto' ? 'auto' : parseToolList('--loop-analyzers', f.loopAnalyzers);
      const temperature = num('--temperature', f.temperature, 0, 2);
      const topP = num('--top-p', f.topP, 0, 1, true);
      const maxNewTokens = int('--max-tokens', f.maxTokens, 16, 100_000);
      const maxIterations = int('--max-iterations', f.maxIterations, 1, 20);
      const budgetMs = int('--budget-ms', f.budgetMs, 100, 3_600_000);
      const timeoutMs = int('--timeout-ms', f.timeoutMs, 100, 3_600_000);
      let llm;
      try {
        llm = resolveLlmConfig(
          { temperature, topP, maxTokens: maxNewTokens, maxIterations, budgetMs, timeoutMs },
          { ...env, ...(f.baseUrl ? { REFLEXGEN_LLM_BASE_URL: f.baseUrl } : {}), ...(f.model ? { REFLEXGEN_LLM_MODEL: f.model } : {}) },
        );
      } catch (err) {
        if (err instanceof ZodError) throw new UserError(describeZodError('LLM settings', err));
        throw err;
      }
      if (!llm) throw new UserError('no LLM configured: set REFLEXGEN_LLM_BASE_URL and REFLEXGEN_LLM_MODEL (and REFLEXGEN_LLM_API_KEY if the endpoint needs a key), or pass --base-url and --model');

      const stop = new AbortController();
      const abort = new AbortController();
      const onSigint = () => {
        if (!stop.signal.aborted) {
          stop.abort();
          process.stderr.write('\nreflexgen eval: stopping after the samples in flight (Ctrl-C again to cancel them)\n');
        } else abort.abort();
      };
      process.on('SIGINT', onSigint);
      let r;
      try {
        r = await runEval({
          scenariosDir: resolve(f.scenarios),
          only: f.only?.split(',').map((s) => s.trim()).filter(Boolean),
          samples,
          runs,
          modes,
          concurrency,
          out: resolve(f.out),
          kb: f.kb,
          kbModelDir: f.kbModelDir,
          judge,
          loopAnalyzers,
          llm,
          maxNewTokens,
          maxIterations,
          progress: f.progress && process.stderr.isTTY,
          stop: stop.signal,
          abort: abort.signal,
        });
      } finally {
        process.off('SIGINT', onSigint);
      }
      const lines = [
        `${r.ran} sample(s) run, ${r.skipped} already done, ${r.errors} with endpoint errors (redone on the next run)${r.stopped ? '; stopped early' : ''}`,
        `samples: ${r.files.samples}`,
        `report:  ${r.files.markdown}`,
        `         ${r.files.json}`,
        `chart:   ${r.files.svg}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
      if (r.stopped) process.exitCode = 130;
    });
}
