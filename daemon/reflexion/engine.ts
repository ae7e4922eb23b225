import { createTwoFilesPatch } from 'diff';
import { oneLine } from '../../shared/errors.js';
import type { Language } from '../../shared/findings.js';
import { addUsage, emptyUsage, LlmError, type ChatMessage, type TokenUsage } from '../llm/client.js';
import { extractLesson, parseJsonObject, pickCodeBlock } from './extract.js';
import { judge, type Judgement } from './judge.js';
import {
  describeFinding,
  describeTask,
  initialFeedback,
  lessonMessages,
  repairMessages,
  reviewMessages,
  writeMessages,
  type Turn,
} from './prompts.js';
import { clampRegion, fitAnswer, splitText } from './region.js';
import type {
  EngineDeps,
  EngineOptions,
  EngineStage,
  IterationRecord,
  KnowledgeHit,
  KnowledgeQuery,
  RepairInput,
  RepairStatus,
  RepairTrail,
  ReviewVerdict,
  Verification,
} from './types.js';

export type * from './types.js';

/** A git-style unified diff (`git apply -p1` takes it); the diff package's `===` banner is dropped. */
export function unifiedPatch(path: string, before: string, after: string): string {
  return createTwoFilesPatch(`a/${path}`, `b/${path}`, before, after, undefined, undefined, { context: 3 }).replace(/^=+\n/, '');
}

class BudgetExhausted extends Error {
  override name = 'BudgetExhausted';
}

class VerifierFailed extends Error {
  override name = 'VerifierFailed';
}

/** The model's own verdict; undefined fields when it did not answer in the asked-for shape. */
export function readVerdict(answer: string): ReviewVerdict {
  const o = parseJsonObject(answer);
  if (!o) return { cwe: [], reason: 'the model did not answer with a JSON verdict' };
  const secure = typeof o.secure === 'boolean' ? o.secure : typeof o.secure === 'string' ? /^(true|yes)$/i.test(o.secure) : undefined;
  const cwe = Array.isArray(o.cwe)
    ? o.cwe
        .map((c) => String(c).trim())
        .map((c) => (/^\d+$/.test(c) ? `CWE-${c}` : c.toUpperCase()))
        .filter((c) => /^CWE-\d+$/.test(c))
    : [];
  const reason = typeof o.reason === 'string' ? oneLine(o.reason) : '';
  return { secure, cwe, reason };
}

function describeRejection(j: Judgement, v: Verification, content: string): string {
  const lines = splitText(content).lines;
  const at = (n: number) => {
    const l = lines[n - 1];
    return l === undefined ? '' : `\n    > ${l.trim()}`;
  };
  const out: string[] = [];
  if (!j.parses) out.push(`- The candidate does not parse/compile: ${oneLine(v.parseError ?? 'parse error')}`);
  for (const f of j.remaining) out.push(`- Still reported (the defect is not fixed): ${describeFinding(f).slice(2)}${at(f.startLine)}`);
  for (const f of j.introduced) out.push(`- Newly introduced by the candidate: ${describeFinding(f).slice(2)}${at(f.startLine)}`);
  return `The candidate was spliced into the file and verified; it was REJECTED:\n${out.join('\n')}`;
}

interface Run {
  deps: EngineDeps;
  opts: EngineOptions;
  deadline: number;
  tokens: TokenUsage;
  progress(stage: EngineStage, message: string, iteration?: number, max?: number): void;
  ask(messages: ChatMessage[], maxTokens?: number): Promise<string>;
  /** Why the last answer ended ('length' when it hit max_tokens). */
  lastFinish?: string;
  verify(content: string): Promise<Verification>;
}

function startRun(deps: EngineDeps, opts: EngineOptions, started: number): Run {
  const deadline = opts.deadline ?? started + deps.llm.config.budgetMs;
  const tokens = emptyUsage();
  return {
    deps,
    opts,
    deadline,
    tokens,
    progress(stage, message, iteration, max) {
      try {
        deps.onProgress?.(stage, message, iteration, max);
      } catch {
        /* a broken progress listener must not break the repair */
      }
    },
    async ask(messages, maxTokens) {
      const r = await deps.llm.chat(messages, { deadline, signal: opts.signal, maxTokens });
      addUsage(tokens, r.usage);
      this.lastFinish = r.finishReason;
      return r.content;
    },
    async verify(content) {
      const left = deadline - Date.now();
      if (left <= 0) throw new BudgetExhausted('time budget exhausted before verification');
      // Analyzers are abandoned at the deadline; the promise race makes sure we stop waiting even if one ignores the signal.
      const ctl = new AbortController();
      const onOuter = () => ctl.abort();
      opts.signal?.addEventListener('abort', onOuter, { once: true });
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          deps.verify(content, ctl.signal).catch((err: unknown) => {
            throw ctl.signal.aborted ? new BudgetExhausted('time budget exhausted during verification') : new VerifierFailed(`verification failed: ${oneLine(err)}`);
          }),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              ctl.abort();
              reject(new BudgetExhausted('time budget exhausted during verification'));
            }, left);
          }),
        ]);
      } finally {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onOuter);
      }
    },
  };
}

/**
 * Reflect, retrieve, repair, verify, learn: the RefleXGen loop for one group of findings in one region.
 * Never throws for model, budget or verifier trouble: the trail says what happened.
 */
export async function repairRegion(input: RepairInput, deps: EngineDeps, opts: EngineOptions = {}): Promise<RepairTrail> {
  const started = Date.now();
  const run = startRun(deps, opts, started);
  const used: string[] = [];
  const trail: RepairTrail = { status: 'unrepaired', iterations: [], knowledgeUsed: used, tokens: run.tokens, ms: 0, learned: false, warnings: [] };
  const done = (status: RepairStatus, error?: string): RepairTrail => {
    trail.status = status;
    if (error) trail.error = error;
    trail.ms = Date.now() - started;
    return trail;
  };
  const retrieve = async (q: KnowledgeQuery): Promise<KnowledgeHit[]> => {
    run.progress('retrieving', 'looking up security knowledge');
    try {
      const hits = await deps.retrieve(q, opts.topK ?? 3);
      for (const h of hits) if (!used.includes(h.id)) used.push(h.id);
      return hits;
    } catch (err) {
      trail.warnings.push(`knowledge retrieval failed: ${oneLine(err)}`);
      return [];
    }
  };

  try {
    const content = input.file.content;
    const region = clampRegion(input.region, splitText(content).lines.length);
    const x: RepairInput = { ...input, region };
    const lang = input.file.language;
    const y0 = splitText(content).lines.slice(region.startLine - 1, region.endLine).join('\n');
    const maxIt = opts.maxIterations ?? deps.llm.config.maxIterations;

    let baseline = opts.baseline;
    if (!baseline) {
      run.progress('verifying', `checking the original ${input.file.path}`);
      baseline = await run.verify(content);
    }
    const parseError = baseline.parses ? undefined : (baseline.parseError ?? 'parse error');

    let review: ReviewVerdict | undefined;
    if (opts.selfReview ?? true) {
      run.progress('introspecting', `reviewing ${input.file.path}:${region.startLine}-${region.endLine}`);
      review = readVerdict(await run.ask(reviewMessages(x), 300));
      trail.review = review;
    }
    if (input.findings.length === 0 && !parseError && review?.secure !== false) return done('secure');

    const fb0 = initialFeedback(x, review, parseError);
    const cwe = [...new Set([...input.findings.flatMap((f) => f.cwe), ...(review?.cwe ?? [])])];
    const queryText = [describeTask(x), ...input.findings.map((f) => f.message), review?.secure === false ? review.reason : '']
      .filter(Boolean)
      .join('\n');
    const r0 = await retrieve({ text: queryText, code: y0, language: lang, cwe });
    const inContext = r0.map((h) => h.id);
    const turns: Turn[] = [];

    for (let n = 1; n <= maxIt; n++) {
      if (Date.now() >= run.deadline) throw new BudgetExhausted(`time budget exhausted after ${n - 1} iteration(s)`);
      run.progress('generating', `repair iteration ${n} of ${maxIt}`, n, maxIt);
      const answer = await run.ask(repairMessages(x, fb0, r0, turns));
      const rec: IterationRecord = { n, accepted: false, feedback: '', knowledge: [...inContext] };
      trail.iterations.push(rec);
      const block = pickCodeBlock(answer, lang);
      const fit = block === undefined ? undefined : fitAnswer(content, region, block);
      if (!fit) {
        rec.feedback =
          run.lastFinish === 'length'
            ? 'The answer was cut off at the token limit before its code block closed. Answer with only the corrected region, not the whole file, in ONE fenced code block.'
            : 'The answer held no complete fenced code block, so there was nothing to verify. Answer with the corrected region in ONE fenced code block.';
      } else if (!fit.ok) {
        rec.mode = fit.mode;
        rec.feedback = `The answer was REJECTED without verification: ${fit.reason}. Only lines ${region.startLine}-${region.endLine} may change.`;
      } else {
        rec.mode = fit.mode;
        rec.candidate = fit.candidate;
        if (fit.content === content) {
          rec.feedback = 'The answer is identical to the original region, so the findings are still there.';
        } else {
          run.progress('verifying', `verifying candidate ${n} of ${maxIt}`, n, maxIt);
          const v = await run.verify(fit.content);
          rec.verification = v;
          const j = judge(baseline.findings, input.findings, v, opts.newFindingMinSeverity);
          if (j.accepted) {
            rec.accepted = true;
            trail.finalContent = fit.content;
            trail.patch = unifiedPatch(input.file.path, content, fit.content);
            await learnFrom(run, trail, x, answer, y0, fit.candidate, fb0, cwe, used, opts);
            return done('repaired');
          }
          rec.feedback = describeRejection(j, v, fit.content);
        }
      }
      if (n < maxIt) {
        const rt = (
          await retrieve({ text: `${queryText}\n${rec.feedback}`, code: rec.candidate ?? y0, language: lang, cwe })
        ).filter((h) => !inContext.includes(h.id));
        inContext.push(...rt.map((h) => h.id));
        turns.push({ answer, feedback: rec.feedback, knowledge: rt });
      }
    }
    return done('unrepaired', `no candidate passed verification in ${maxIt} iteration(s)`);
  } catch (err) {
    if (err instanceof LlmError) return done(err.kind === 'budget' ? 'budget-exhausted' : 'llm-error', err.message);
    if (err instanceof BudgetExhausted) return done('budget-exhausted', err.message);
    if (err instanceof VerifierFailed) return done('unrepaired', err.message);
    return done('llm-error', `repair failed: ${oneLine(err)}`);
  }
}

async function learnFrom(
  run: Run,
  trail: RepairTrail,
  x: RepairInput,
  answer: string,
  vulnerable: string,
  secure: string,
  fb0: string,
  cwe: string[],
  credited: string[],
  opts: EngineOptions,
): Promise<void> {
  let { title, lesson } = extractLesson(answer);
  if (!title || !lesson) {
    try {
      const o = parseJsonObject(await run.ask(lessonMessages(x.file.language, vulnerable, secure, fb0), 200));
      title ??= typeof o?.title === 'string' ? oneLine(o.title) : undefined;
      lesson ??= typeof o?.lesson === 'string' ? oneLine(o.lesson) : undefined;
    } catch (err) {
      trail.warnings.push(`could not get a lesson from the model: ${oneLine(err)}`);
    }
  }
  if (!lesson) {
    trail.warnings.push('the repair was verified but the model gave no lesson; nothing was learned');
    return;
  }
  title ??= cwe.length ? `${cwe.join(', ')} repair` : 'security repair';
  trail.lesson = { title, lesson };
  // A defect only the model claimed to see was never confirmed by an analyzer: do not teach it.
  if (x.findings.length === 0 && !opts.learnUnverified) return;
  run.progress('learning', 'storing the lesson of this repair');
  try {
    await run.deps.learn({ task: describeTask(x), language: x.file.language, cwe, vulnerableCode: vulnerable, secureCode: secure, lesson, title }, [...credited]);
    trail.learned = true;
  } catch (err) {
    trail.warnings.push(`storing the lesson failed: ${oneLine(err)}`);
  }
}

export interface GenerateInput {
  language: Language;
  /** The task in words (x). */
  task?: string;
  /** An incomplete program to complete (the SVEN scenarios). */
  incomplete?: string;
  /** Path used in prompts, findings and the patch; defaults to a name fitting the language. */
  path?: string;
}

export interface GenerateOptions extends EngineOptions {
  /** Return y0 without introspection or repair: the baseline the paper compares against. */
  noReflect?: boolean;
}

export interface GenerateResult {
  status: RepairStatus | 'generated';
  /** The final code: the verified repair when there is one, y0 otherwise. */
  code?: string;
  y0?: string;
  /** Verification of y0 (absent with noReflect). */
  initial?: Verification;
  trail?: RepairTrail;
  tokens: TokenUsage;
  ms: number;
  error?: string;
}

const DEFAULT_NAME: Record<Language, string> = { python: 'main.py', c: 'main.c', cpp: 'main.cpp', javascript: 'main.js', typescript: 'main.ts' };

/**
 * The paper's own use: y0 = M(p_gen || x), then (unless noReflect) introspection and the same
 * retrieve-repair-verify loop over the whole generated file.
 */
export async function generate(input: GenerateInput, deps: EngineDeps, opts: GenerateOptions = {}): Promise<GenerateResult> {
  const started = Date.now();
  const deadline = opts.deadline ?? started + deps.llm.config.budgetMs;
  const run = startRun(deps, { ...opts, deadline }, started);
  const tokens = emptyUsage();
  const result = (r: Omit<GenerateResult, 'tokens' | 'ms'>): GenerateResult => ({ ...r, tokens, ms: Date.now() - started });
  const path = input.path ?? DEFAULT_NAME[input.language];
  let y0: string;
  try {
    run.progress('generating', 'writing the initial code (y0)');
    const answer = await run.ask(writeMessages(input.language, input.task, input.incomplete));
    addUsage(tokens, run.tokens);
    const block = pickCodeBlock(answer, input.language);
    if (block === undefined) return result({ status: 'llm-error', error: 'the model answered without a fenced code block' });
    y0 = block.endsWith('\n') ? block : `${block}\n`;
    if (input.incomplete !== undefined) {
      const first = input.incomplete.split('\n').find((l) => l.trim() !== '');
      // Some models answer with only the continuation.
      if (first !== undefined && !y0.includes(first.trim())) y0 = `${input.incomplete.replace(/\n?$/, '\n')}${y0}`;
    }
  } catch (err) {
    if (err instanceof LlmError) return result({ status: err.kind === 'budget' ? 'budget-exhausted' : 'llm-error', error: err.message });
    throw err;
  }
  if (opts.noReflect) return result({ status: 'generated', code: y0, y0 });

  let initial: Verification;
  try {
    run.progress('verifying', 'checking the initial code');
    initial = await run.verify(y0);
  } catch (err) {
    const status = err instanceof BudgetExhausted ? 'budget-exhausted' : 'unrepaired';
    return result({ status, code: y0, y0, error: oneLine(err) });
  }
  const lines = splitText(y0).lines.length;
  const trail = await repairRegion(
    { file: { path, language: input.language, content: y0 }, region: { startLine: 1, endLine: lines }, findings: initial.findings, task: input.task ?? `Complete the ${input.language} program.` },
    deps,
    { ...opts, deadline, baseline: initial },
  );
  addUsage(tokens, trail.tokens);
  return result({ status: trail.status, code: trail.finalContent ?? y0, y0, initial, trail, error: trail.error });
}
