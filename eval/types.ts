import type { Finding, Language } from '../shared/findings.js';
import type { TokenUsage } from '../daemon/llm/client.js';
import type { RepairTrail, ReviewVerdict } from '../daemon/reflexion/types.js';

export const MODES = ['base', 'reflexgen', 'grounded'] as const;
export type Mode = (typeof MODES)[number];

export interface Scenario {
  /** `cwe-089/0-py`: unique within one benchmark folder. */
  id: string;
  /** `CWE-89`. */
  cwe: string;
  /** `cwe-089`, the folder name, used to group rows like the paper. */
  cweDir: string;
  name: string;
  language: Language;
  /** file_context + func_context: what SVEN gives the model. */
  prompt: string;
  description: string;
  checkQl: string;
}

export interface ParseResult {
  ok: boolean;
  /** First lines of the parser's or compiler's complaint. */
  error?: string;
}

/** One finished sample, one JSONL line in samples.jsonl. */
export interface SampleRecord {
  key: string;
  mode: Mode;
  run: number;
  scenario: string;
  cwe: string;
  index: number;
  /** Engine status: generated (base), secure, repaired, unrepaired, budget-exhausted, llm-error, no-code. */
  status: string;
  /** The complete program that is judged (file_context + func_context + completion, as the model returned it). */
  code: string;
  /** What the model added to the prompt: the lines of `code` that are not prompt lines. */
  completion: string;
  /** 1-based lines of `code` that belong to the completion. */
  completionLines: number[];
  parse: ParseResult;
  /** Findings of the judge that count: the scenario's CWE family, on completion lines. */
  findings: Finding[];
  /** Every judge finding before filtering, for auditing the filter. */
  judgeFindingsTotal: number;
  judge: string[];
  /** Judge tools that could not run on this sample (missing, timeout, error). */
  judgeProblems: string[];
  /** null when the program does not parse. */
  secure: boolean | null;
  iterations: number;
  llmCalls: number;
  tokens: TokenUsage;
  seconds: number;
  review?: ReviewVerdict;
  trail?: RepairTrail;
  /** The first program the model wrote (y0), when it differs from `code`. */
  y0?: string;
  /** Infrastructure trouble (endpoint down, HTTP error): the sample does not count and is redone on resume. */
  error?: string;
  finishedAt: string;
}

export function sampleKey(mode: Mode, run: number, scenario: string, index: number): string {
  return `${mode}|${run}|${scenario}|${index}`;
}
