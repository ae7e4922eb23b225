import { randomBytes } from 'node:crypto';
import type { Config } from '../../shared/config.js';
import type { Finding, Language } from '../../shared/findings.js';
import type { CheckParams, Guidance, RepairOutcome } from '../../shared/protocol.js';
import { createLlmClient } from '../llm/client.js';
import { llmEnvironment, resolveLlmConfig } from '../llm/config.js';
import { repairRegion, unifiedPatch } from '../reflexion/engine.js';
import type { EngineDeps, KnowledgeHit, KnowledgeQuery, LearnedLesson } from '../reflexion/types.js';
import type { RequestContext } from '../handlers/types.js';
import type { Snapshot } from '../pipeline/snapshot.js';
import type { SourceFile } from '../analyzers/types.js';
import { getCache } from '../services/cache.js';
import { getKnowledge } from '../services/knowledge.js';
import { regionsFor } from './regions.js';
import { makeVerifier } from './verify.js';
import { withModelReview } from '../review/stage.js';

/*
 * After analysis: retrieve guidance from the knowledge base for every file with blocking findings
 * (with or without an LLM), then, when an LLM is configured and the policy is not `off`, run the
 * reflect-and-repair loop on each region and report only verified repairs. It decides nothing:
 * `decide()` turns its outcomes into the verdict. Applying a repair is the client's job (it owns
 * the index and the working tree): the daemon never touches the repository.
 */

export interface RepairStageInput {
  params: CheckParams;
  config: Config;
  /** The model endpoint was chosen by the repository's (trusted) config file: what is learned stays with it. */
  llmFromRepo: boolean;
  snapshot: Snapshot;
  /** The findings that block under the policy (in new code, at or above minSeverity). */
  blocking: Finding[];
  ctx: RequestContext;
}

export interface RepairStageResult {
  guidance?: Guidance[];
  repairs?: RepairOutcome[];
  repairPolicy?: Config['repair'];
  notices: string[];
  llmTokens?: number;
}

const GUIDANCE_PER_FILE = 3;

function byFile(findings: Finding[]): Map<string, Finding[]> {
  const m = new Map<string, Finding[]>();
  for (const f of findings) m.set(f.file, [...(m.get(f.file) ?? []), f]);
  return m;
}

function queryText(findings: Finding[]): string {
  return findings.map((f) => `${f.cwe.join(' ')} ${f.ruleId}: ${f.message}`).join('\n');
}

function lines(text: string, from: number, to: number): string {
  return text.split('\n').slice(from - 1, to).join('\n');
}

function clip(s: string, n = 160): string {
  const t = s.trim().replace(/\s+/g, ' ');
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

/**
 * The lesson of a verified repair when the model gave none (UpdateRAG stores the task and the
 * secure code; a lesson is a bonus): built from the findings, the rule's guidance (their message)
 * and the lines the repair changed.
 */
export function composedLesson(input: {
  file: string;
  language: Language;
  task?: string;
  findings: Finding[];
  before: string;
  after: string;
  region: { startLine: number; endLine: number };
}): LearnedLesson {
  const { region, findings } = input;
  const delta = input.after.split('\n').length - input.before.split('\n').length;
  const vulnerableCode = lines(input.before, region.startLine, region.endLine);
  const secureCode = lines(input.after, region.startLine, region.endLine + delta);
  const oldLines = vulnerableCode.split('\n').map((l) => l.trim()).filter(Boolean);
  const newLines = secureCode.split('\n').map((l) => l.trim()).filter(Boolean);
  const removed = oldLines.find((l) => !newLines.includes(l));
  const added = newLines.find((l) => !oldLines.includes(l));
  const cwe = [...new Set(findings.flatMap((f) => f.cwe))];
  const rules = [...new Set(findings.map((f) => f.ruleId))];
  const guidance = [...new Set(findings.map((f) => clip(f.message, 240)))].join(' ');
  const change = removed && added ? ` The verified fix replaced \`${clip(removed)}\` with \`${clip(added)}\`.` : added ? ` The verified fix added \`${clip(added)}\`.` : removed ? ` The verified fix removed \`${clip(removed)}\`.` : '';
  return {
    task: input.task ?? `fix ${cwe.join(', ') || rules.join(', ')} in ${input.file}`,
    language: input.language,
    cwe,
    vulnerableCode,
    secureCode,
    title: `${cwe.length ? cwe.join(', ') : rules[0]} repair in ${input.language} (${rules.join(', ')})`,
    lesson: `${rules.join(', ')}: ${guidance}${change}`,
  };
}

type Kb = Awaited<ReturnType<typeof getKnowledge>>;
type Retrieve = (q: KnowledgeQuery, k: number) => Promise<KnowledgeHit[]>;

/** Knowledge for each file with blocking findings: shown with or without an LLM. */
async function guidanceFor(groups: Map<string, Finding[]>, snapshot: Snapshot, kb: Kb, repoRoot: string): Promise<Guidance[]> {
  const guidance: Guidance[] = [];
  for (const [file, fs] of groups) {
    const src = snapshot.files.find((f) => f.path === file);
    const lines = src?.content.split('\n') ?? [];
    const code = fs.map((f) => lines.slice(f.startLine - 1, f.endLine).join('\n')).join('\n');
    const cwe = [...new Set(fs.flatMap((f) => f.cwe))];
    // Only the finding's language family: a C system() lesson is noise next to a JS exec finding.
    const found = await kb.retrieve({ text: queryText(fs), code, language: src?.language ?? '', cwe, repoRoot, strictLanguage: true }, GUIDANCE_PER_FILE).catch(() => []);
    // Shown to a person: only entries about the weaknesses found (no pickle advice for an SQL injection).
    const hits = cwe.length ? found.filter((h) => h.cwe.some((c) => cwe.includes(c))) : found;
    if (hits.length) guidance.push({ file, cwe, hits: hits.map((h) => ({ id: h.id, title: h.title, cwe: h.cwe, lesson: h.lesson, score: h.score })) });
  }
  return guidance;
}

interface FileRepairContext {
  input: RepairStageInput;
  llm: EngineDeps['llm'];
  retrieve: Retrieve;
  kb?: Kb;
  deadline: number;
  maxIterations: number;
  notices: string[];
}

/** Reflect-and-repair every region of one file, bottom-up; learn from the file only when all of it verified. */
async function repairFile(src: SourceFile, targets: Finding[], c: FileRepairContext): Promise<RepairOutcome> {
  const { params, config, ctx } = c.input;
  const file = src.path;
  const started = Date.now();
  const outcome: RepairOutcome = {
    id: `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
    file,
    status: 'unrepaired',
    targets,
    iterations: 0,
    tokens: 0,
    ms: 0,
    knowledgeUsed: [],
    learned: false,
    ...(src.blob ? { stagedBlob: src.blob } : {}),
  };
  const learnedLessons: Array<{ lesson: LearnedLesson; credited: string[] }> = [];
  const deps: EngineDeps = {
    llm: c.llm,
    retrieve: c.retrieve,
    verify: withModelReview(makeVerifier({ file: src, config, repoRoot: params.repoRoot, cache: getCache(ctx.daemon), peers: c.input.snapshot.files }), src, targets, config, c.llm, c.deadline),
    // Lessons are stored only once the whole file is repaired, so a half-fixed file teaches nothing.
    learn: async (lesson, credited) => void learnedLessons.push({ lesson, credited }),
    onProgress: (stage, message, iteration, max) => ctx.progress(`repair:${stage}`, `${file}: ${message}`, iteration, max),
  };
  // Bottom-up, so earlier regions keep their line numbers while later ones change.
  const regions = (await regionsFor(src.language, src.path, src.content, targets)).reverse();
  let content = src.content;
  const composed: LearnedLesson[] = [];
  for (const region of regions) {
    const lessonsBefore = learnedLessons.length;
    const trail = await repairRegion(
      { file: { path: file, language: src.language, content }, region: { startLine: region.startLine, endLine: region.endLine }, findings: region.findings, task: params.task },
      deps,
      { deadline: c.deadline, signal: ctx.signal, newFindingMinSeverity: config.minSeverity, maxIterations: c.maxIterations },
    );
    outcome.iterations += trail.iterations.length;
    outcome.tokens += trail.tokens.total;
    outcome.knowledgeUsed.push(...trail.knowledgeUsed.filter((id) => !outcome.knowledgeUsed.includes(id)));
    if (trail.status !== 'repaired' || trail.finalContent === undefined) {
      outcome.status = trail.status === 'secure' ? 'unrepaired' : trail.status;
      if (trail.error) outcome.error = trail.error;
      outcome.ms = Date.now() - started;
      return outcome;
    }
    if (learnedLessons.length === lessonsBefore && region.findings.length > 0) {
      composed.push(composedLesson({ file, language: src.language, task: params.task, findings: region.findings, before: content, after: trail.finalContent, region }));
    }
    content = trail.finalContent;
  }
  if (content !== src.content) {
    outcome.status = 'repaired';
    outcome.content = content;
    outcome.patch = unifiedPatch(file, src.content, content);
    if (c.kb) {
      // Every verified repair is learned (UpdateRAG): with the model's lesson, else a composed one.
      const toStore = [...learnedLessons, ...composed.map((lesson) => ({ lesson, credited: outcome.knowledgeUsed }))];
      for (const l of toStore) {
        await c.kb
          .learn({ task: l.lesson.task, language: l.lesson.language, cwe: l.lesson.cwe, vulnerableCode: l.lesson.vulnerableCode, secureCode: l.lesson.secureCode, lesson: l.lesson.lesson, title: l.lesson.title, ...(c.input.llmFromRepo ? { repo: params.repoRoot } : {}) }, l.credited)
          .then(() => (outcome.learned = true))
          .catch((err: Error) => c.notices.push(`could not store the lesson: ${err.message}`));
      }
      if (composed.length) c.notices.push(`${file}: the model gave no lesson for the verified repair; a lesson composed from the finding and the change was stored`);
    }
  }
  outcome.ms = Date.now() - started;
  return outcome;
}

export async function guideAndRepair(input: RepairStageInput): Promise<RepairStageResult> {
  const { config, snapshot, ctx, params, blocking } = input;
  const result: RepairStageResult = { notices: [] };
  if (blocking.length === 0) return result;
  const groups = byFile(blocking);

  // The knowledge base is optional equipment; its failure never fails the check.
  let kb: Kb | undefined;
  try {
    kb = await getKnowledge(ctx.daemon);
  } catch (err) {
    result.notices.push(`knowledge base unavailable: ${(err as Error).message}`);
  }
  const retrieve: Retrieve = async (q, k) => (kb ? kb.retrieve({ text: q.text, code: q.code, language: q.language, cwe: q.cwe, repoRoot: params.repoRoot }, k) : []);
  if (kb) {
    ctx.progress('retrieving', 'retrieving security knowledge');
    const guidance = await guidanceFor(groups, snapshot, kb, params.repoRoot);
    if (guidance.length) result.guidance = guidance;
  }

  if (config.repair === 'off') return result;
  let llmConfig;
  try {
    llmConfig = resolveLlmConfig(config.llm ?? {}, llmEnvironment(params.llmEnv));
  } catch (err) {
    result.notices.push(`llm configuration ignored: ${(err as Error).message.split('\n')[0]}`);
    return result;
  }
  if (!llmConfig) return result; // no model configured: analysis and guidance only
  result.repairPolicy = config.repair;
  const llm = createLlmClient(llmConfig);
  const c: FileRepairContext = { input, llm, retrieve, kb, deadline: Date.now() + llmConfig.budgetMs, maxIterations: llmConfig.maxIterations, notices: result.notices };
  const outcomes: RepairOutcome[] = [];
  for (const [file, targets] of groups) {
    const src = snapshot.files.find((f) => f.path === file);
    if (src) outcomes.push(await repairFile(src, targets, c));
  }
  result.repairs = outcomes;
  result.llmTokens = llm.usage.total;
  return result;
}
