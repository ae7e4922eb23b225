import { createHash } from 'node:crypto';
import type { Finding, Language } from '../../shared/findings.js';
import { oneLine } from '../../shared/errors.js';
import type { LineRange } from '../../shared/protocol.js';
import type { ChatMessage, LlmClient } from '../llm/client.js';
import { parseJsonObject } from '../reflexion/extract.js';
import { numbered, splitText } from '../reflexion/region.js';
import { FUNCTION_TYPES } from '../repair/regions.js';
import { initParsers, parse } from '../rules/parser.js';

/*
 * The paper's introspection without an analyzer having fired: the model reviews each function the
 * change touches and names defects with a CWE, a line and a reason. Its answer is untrusted text:
 * only well-formed defects on lines of the reviewed function become `model-review` findings, and
 * the reason is cut to one short line. Answers are cached by (endpoint, model, function text), so
 * the same staged function is never reviewed twice.
 */

export const MODEL_REVIEW_TOOL = 'model-review';

export const DEFECTS_SYSTEM = `You are a meticulous application security reviewer.
You are shown one function of a source file that a developer is about to commit.
Report only real security defects in it (injection, path traversal, unsafe deserialization, memory
safety, hard-coded credentials, weak cryptography, missing authorization checks, and the like), not style.
Answer with ONLY a JSON object, no prose around it:
{"defects": [{"cwe": "CWE-<n>", "line": <line number as shown>, "reason": "<one sentence>"}]}
Use an empty list when the function has no security defect.`;

const MAX_FUNCTION_LINES = 150;
const MAX_REGIONS_PER_CHECK = 12;
const MAX_DEFECTS_PER_REGION = 3;
const MAX_REASON_CHARS = 240;
const CACHE_ENTRIES = 2000;

export interface ReviewFile {
  path: string;
  language: Language;
  content: string;
  /** Lines the change adds or modifies ("all" for a new file). */
  addedLines: 'all' | LineRange[];
}

export interface ReviewOptions {
  llm: LlmClient;
  /** Severity of the findings: `note` reports, `block` (error) stops the commit like any analyzer. */
  mode: 'note' | 'block';
  deadline: number;
  signal?: AbortSignal;
  cache?: ReviewCache;
}

interface Defect {
  cwe: string;
  line: number;
  reason: string;
}

/** Bounded memory of earlier answers, oldest dropped first. */
export class ReviewCache {
  private map = new Map<string, Defect[]>();
  get(key: string): Defect[] | undefined {
    return this.map.get(key);
  }
  set(key: string, v: Defect[]): void {
    this.map.delete(key);
    this.map.set(key, v);
    while (this.map.size > CACHE_ENTRIES) this.map.delete(this.map.keys().next().value!);
  }
}

/** Outermost functions overlapping the changed lines (nested ones are reviewed with their parent). */
export async function changedFunctions(file: ReviewFile): Promise<LineRange[]> {
  await initParsers();
  const tree = parse(file.language, file.path, file.content);
  const found: LineRange[] = [];
  try {
    const stack = [tree.rootNode];
    while (stack.length) {
      const n = stack.pop()!;
      if (FUNCTION_TYPES.has(n.type)) {
        const outer = n.parent?.type === 'decorated_definition' ? n.parent : n;
        found.push([outer.startPosition.row + 1, outer.endPosition.row + 1]);
        continue;
      }
      for (const c of n.children) if (c) stack.push(c);
    }
  } finally {
    tree.delete();
  }
  const touched = (r: LineRange) => file.addedLines === 'all' || file.addedLines.some(([s, e]) => s <= r[1] && e >= r[0]);
  return found
    .filter(touched)
    .filter(([s, e]) => e - s + 1 <= MAX_FUNCTION_LINES)
    .sort((a, b) => a[0] - b[0]);
}

function messages(file: ReviewFile, region: LineRange): ChatMessage[] {
  const code = splitText(file.content).lines.slice(region[0] - 1, region[1]);
  const tick = code.some((l) => l.includes('```')) ? '````' : '```';
  return [
    { role: 'system', content: DEFECTS_SYSTEM },
    { role: 'user', content: `File: ${file.path} (${file.language}), lines ${region[0]}-${region[1]}:\n${tick}text\n${numbered(code, region[0])}\n${tick}` },
  ];
}

/** Only well-formed defects inside the reviewed lines survive; everything else in the answer is ignored. */
export function readDefects(answer: string, region: LineRange): Defect[] {
  const o = parseJsonObject(answer);
  const list = o && Array.isArray(o.defects) ? o.defects : [];
  const out: Defect[] = [];
  for (const d of list) {
    if (!d || typeof d !== 'object') continue;
    const raw = d as { cwe?: unknown; line?: unknown; reason?: unknown };
    const cwe = String(raw.cwe ?? '').trim().toUpperCase().replace(/^(\d+)$/, 'CWE-$1');
    const line = typeof raw.line === 'number' ? raw.line : Number.parseInt(String(raw.line ?? ''), 10);
    const reason = typeof raw.reason === 'string' ? oneLine(raw.reason).slice(0, MAX_REASON_CHARS) : '';
    if (!/^CWE-\d{1,5}$/.test(cwe) || !Number.isInteger(line) || line < region[0] || line > region[1] || !reason) continue;
    out.push({ cwe, line, reason });
    if (out.length >= MAX_DEFECTS_PER_REGION) break;
  }
  return out;
}

function keyOf(llm: LlmClient, file: ReviewFile, region: LineRange): string {
  const text = splitText(file.content).lines.slice(region[0] - 1, region[1]).join('\n');
  return createHash('sha256').update(JSON.stringify([llm.config.baseURL, llm.config.model, file.language, region[0], text])).digest('hex');
}

/**
 * Reviews the functions the change touches. Never throws: a model that fails or runs out of time
 * leaves a notice, and the analyzers' verdict stands.
 */
export async function reviewChange(files: ReviewFile[], opts: ReviewOptions): Promise<{ findings: Finding[]; notices: string[]; reviewed: number }> {
  const findings: Finding[] = [];
  const notices: string[] = [];
  let reviewed = 0;
  const jobs: Array<{ file: ReviewFile; region: LineRange }> = [];
  for (const file of files) {
    const regions = await changedFunctions(file).catch(() => [] as LineRange[]);
    for (const region of regions) jobs.push({ file, region });
  }
  if (jobs.length > MAX_REGIONS_PER_CHECK) notices.push(`model review: ${jobs.length - MAX_REGIONS_PER_CHECK} changed function(s) over the limit of ${MAX_REGIONS_PER_CHECK} were not reviewed`);
  for (const { file, region } of jobs.slice(0, MAX_REGIONS_PER_CHECK)) {
    const key = keyOf(opts.llm, file, region);
    let defects = opts.cache?.get(key);
    if (!defects) {
      if (Date.now() >= opts.deadline || opts.signal?.aborted) {
        notices.push('model review: the time budget ran out before every changed function was reviewed');
        break;
      }
      try {
        const r = await opts.llm.chat(messages(file, region), { deadline: opts.deadline, signal: opts.signal, maxTokens: 400 });
        defects = readDefects(r.content, region);
        opts.cache?.set(key, defects);
      } catch (err) {
        notices.push(`model review of ${file.path}:${region[0]}-${region[1]} failed: ${oneLine(err).slice(0, 200)}`);
        continue;
      }
    }
    reviewed++;
    for (const d of defects) {
      findings.push({
        tool: MODEL_REVIEW_TOOL,
        ruleId: `${MODEL_REVIEW_TOOL}/${d.cwe}`,
        cwe: [d.cwe],
        severity: opts.mode === 'block' ? 'error' : 'note',
        file: file.path,
        startLine: d.line,
        endLine: d.line,
        message: `the model's review: ${d.reason}`,
      });
    }
  }
  return { findings, notices, reviewed };
}
