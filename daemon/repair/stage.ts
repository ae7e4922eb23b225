import { randomBytes } from 'node:crypto';
import type { Finding } from '../../shared/findings.js';
import type { Guidance, RepairOutcome } from '../../shared/protocol.js';
import { createLlmClient } from '../llm/client.js';
import { llmEnvironment, resolveLlmConfig } from '../llm/config.js';
import { repairRegion, unifiedPatch } from '../reflexion/engine.js';
import type { EngineDeps, KnowledgeHit, KnowledgeQuery, LearnedLesson } from '../reflexion/types.js';
import { atLeast } from '../pipeline/scope.js';
import { registerStage, type StageInput } from '../pipeline/stages.js';
import { getCache } from '../services/cache.js';
import { getKnowledge } from '../services/knowledge.js';
import { regionsFor } from './regions.js';
import { makeVerifier } from './verify.js';
import { withModelReview } from '../review/stage.js';

/*
 * After analysis: retrieve guidance from the knowledge base for every file with blocking findings
 * (with or without an LLM), then, when an LLM is configured and the policy is not `off`, run the
 * reflect-and-repair loop on each region and report only verified repairs. Applying a repair is the
 * client's job (it owns the index and the working tree): the daemon never touches the repository.
 */

const GUIDANCE_PER_FILE = 3;

function byFile(findings: Finding[]): Map<string, Finding[]> {
  const m = new Map<string, Finding[]>();
  for (const f of findings) m.set(f.file, [...(m.get(f.file) ?? []), f]);
  return m;
}

function queryText(findings: Finding[]): string {
  return findings.map((f) => `${f.cwe.join(' ')} ${f.ruleId}: ${f.message}`).join('\n');
}

async function repairStage(input: StageInput): Promise<void> {
  const { config, snapshot, result, ctx, params, llmFromRepo } = input;
  const blocking = input.findings.filter((f) => atLeast(f.severity, config.minSeverity));
  if (blocking.length === 0) return;
  const groups = byFile(blocking);

  // Guidance: the knowledge base is optional equipment; its failure never fails the check.
  let kb: Awaited<ReturnType<typeof getKnowledge>> | undefined;
  try {
    kb = await getKnowledge(ctx.daemon);
  } catch (err) {
    result.notices.push(`knowledge base unavailable: ${(err as Error).message}`);
  }
  const retrieve = async (q: KnowledgeQuery, k: number): Promise<KnowledgeHit[]> =>
    kb ? kb.retrieve({ text: q.text, code: q.code, language: q.language, cwe: q.cwe, repoRoot: params.repoRoot }, k) : [];
  if (kb) {
    ctx.progress('retrieving', 'retrieving security knowledge');
    const guidance: Guidance[] = [];
    for (const [file, fs] of groups) {
      const src = snapshot.files.find((f) => f.path === file);
      const lines = src?.content.split('\n') ?? [];
      const code = fs.map((f) => lines.slice(f.startLine - 1, f.endLine).join('\n')).join('\n');
      const cwe = [...new Set(fs.flatMap((f) => f.cwe))];
      const hits = await kb
        .retrieve({ text: queryText(fs), code, language: src?.language ?? '', cwe, repoRoot: params.repoRoot, strictLanguage: true }, GUIDANCE_PER_FILE)
        .catch(() => []);
      if (hits.length) guidance.push({ file, cwe, hits: hits.map((h) => ({ id: h.id, title: h.title, cwe: h.cwe, lesson: h.lesson, score: h.score })) });
    }
    if (guidance.length) result.guidance = guidance;
  }

  if (config.repair === 'off') return;
  let llmConfig;
  try {
    llmConfig = resolveLlmConfig(config.llm ?? {}, llmEnvironment(params.llmEnv));
  } catch (err) {
    result.notices.push(`llm configuration ignored: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  if (!llmConfig) return; // no model configured: analysis and guidance only
  result.repairPolicy = config.repair;
  const llm = createLlmClient(llmConfig);
  const deadline = Date.now() + llmConfig.budgetMs;
  const outcomes: RepairOutcome[] = [];
  const cache = getCache(ctx.daemon);

  for (const [file, targets] of groups) {
    const src = snapshot.files.find((f) => f.path === file);
    if (!src) continue;
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
      llm,
      retrieve,
      verify: withModelReview(makeVerifier({ file: src, config, repoRoot: params.repoRoot, cache }), src, targets, config, llm, deadline),
      // Lessons are stored only once the whole file is repaired, so a half-fixed file teaches nothing.
      learn: async (lesson, credited) => void learnedLessons.push({ lesson, credited }),
      onProgress: (stage, message, iteration, max) => ctx.progress(`repair:${stage}`, `${file}: ${message}`, iteration, max),
    };
    // Bottom-up, so earlier regions keep their line numbers while later ones change.
    const regions = (await regionsFor(src.language, src.path, src.content, targets)).reverse();
    let content = src.content;
    let ok = true;
    for (const region of regions) {
      const trail = await repairRegion(
        { file: { path: file, language: src.language, content }, region: { startLine: region.startLine, endLine: region.endLine }, findings: region.findings, task: params.task },
        deps,
        { deadline, signal: ctx.signal, newFindingMinSeverity: config.minSeverity, maxIterations: llmConfig.maxIterations },
      );
      outcome.iterations += trail.iterations.length;
      outcome.tokens += trail.tokens.total;
      outcome.knowledgeUsed.push(...trail.knowledgeUsed.filter((id) => !outcome.knowledgeUsed.includes(id)));
      if (trail.status !== 'repaired' || trail.finalContent === undefined) {
        ok = false;
        outcome.status = trail.status === 'secure' ? 'unrepaired' : trail.status;
        if (trail.error) outcome.error = trail.error;
        break;
      }
      content = trail.finalContent;
    }
    if (ok && content !== src.content) {
      outcome.status = 'repaired';
      outcome.content = content;
      outcome.patch = unifiedPatch(file, src.content, content);
      if (kb) {
        for (const l of learnedLessons) {
          await kb
            .learn({ task: l.lesson.task, language: l.lesson.language, cwe: l.lesson.cwe, vulnerableCode: l.lesson.vulnerableCode, secureCode: l.lesson.secureCode, lesson: l.lesson.lesson, title: l.lesson.title, ...(llmFromRepo ? { repo: params.repoRoot } : {}) }, l.credited)
            .then(() => (outcome.learned = true))
            .catch((err: Error) => result.notices.push(`could not store the lesson: ${err.message}`));
        }
      }
    }
    outcome.ms = Date.now() - started;
    outcomes.push(outcome);
  }
  result.repairs = outcomes;
  result.timings.llmTokens = llm.usage.total;
}

registerStage('repair', repairStage);
