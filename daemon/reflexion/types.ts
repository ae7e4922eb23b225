import type { KnowledgeHit as StoredHit } from '../../knowledge/types.js';
import type { Finding, Language, Severity } from '../../shared/findings.js';
import type { LlmClient, TokenUsage } from '../llm/client.js';

export interface SourceText {
  /** Repo-relative path, forward slashes. */
  path: string;
  language: Language;
  content: string;
}

/** 1-based, inclusive. */
export interface LineSpan {
  startLine: number;
  endLine: number;
}

/** One unit of work: a group of findings in one region of one file. */
export interface RepairInput {
  file: SourceText;
  region: LineSpan;
  /** The findings this repair targets (the analyzers' part of fb0). */
  findings: Finding[];
  /** The x of the paper: what the code is meant to do, when known (commit message, generation task). */
  task?: string;
}

export interface KnowledgeQuery {
  text: string;
  code: string;
  language: string;
  cwe: string[];
}

/** What the engine uses of a knowledge-base hit: the same shape, narrowed. */
export type KnowledgeHit = Pick<StoredHit, 'id' | 'title' | 'cwe' | 'lesson' | 'secureCode' | 'vulnerableCode' | 'score'>;

export interface Verification {
  parses: boolean;
  parseError?: string;
  /** Every finding in the whole candidate file, not only the region. */
  findings: Finding[];
}

export interface LearnedLesson {
  task: string;
  language: string;
  cwe: string[];
  vulnerableCode: string;
  secureCode: string;
  lesson: string;
  title: string;
}

export type EngineStage = 'introspecting' | 'retrieving' | 'generating' | 'verifying' | 'learning';

export interface EngineDeps {
  llm: LlmClient;
  retrieve(query: KnowledgeQuery, k: number): Promise<KnowledgeHit[]>;
  /** Runs the parser/compiler check and the analyzers on a whole candidate file. */
  verify(candidateFileContent: string, signal?: AbortSignal): Promise<Verification>;
  learn(lesson: LearnedLesson, creditedIds: string[]): Promise<void>;
  onProgress?(stage: EngineStage, message: string, iteration?: number, max?: number): void;
}

export interface EngineOptions {
  /** Defaults to llm.config.maxIterations. */
  maxIterations?: number;
  /** Epoch ms; shared by every region of one commit. Defaults to now + llm.config.budgetMs. */
  deadline?: number;
  signal?: AbortSignal;
  /** Knowledge entries per retrieval. */
  topK?: number;
  /** Ask the model for its own verdict on the region before repairing (the paper's introspection). */
  selfReview?: boolean;
  /**
   * The findings of the whole file before any change, which "no new finding" is measured against.
   * Without it the engine verifies the original file once to learn them.
   */
  baseline?: Verification;
  /** New findings below this severity do not reject a candidate (e.g. bandit's low-severity notes). */
  newFindingMinSeverity?: Severity;
  /** Store a lesson even when only the model's own review, not an analyzer, found the defect. */
  learnUnverified?: boolean;
}

export interface ReviewVerdict {
  /** undefined when the model's answer could not be read as a verdict. */
  secure?: boolean;
  cwe: string[];
  reason: string;
}

export interface IterationRecord {
  n: number;
  /** The region as the model proposed it (after whole-file answers were cut down to the region). */
  candidate?: string;
  /** How the code block was read: just the region, or a whole file. */
  mode?: 'region' | 'whole-file';
  verification?: Verification;
  accepted: boolean;
  /** fb_t: what was wrong, as sent back to the model. Empty when accepted. */
  feedback: string;
  knowledge: string[];
}

export type RepairStatus = 'repaired' | 'unrepaired' | 'secure' | 'budget-exhausted' | 'llm-error';

export interface RepairTrail {
  status: RepairStatus;
  /** The whole file with the verified repair; only when repaired. */
  finalContent?: string;
  /** Unified diff from the original file to finalContent. */
  patch?: string;
  iterations: IterationRecord[];
  knowledgeUsed: string[];
  tokens: TokenUsage;
  ms: number;
  review?: ReviewVerdict;
  lesson?: { title: string; lesson: string };
  learned: boolean;
  /** One line, for llm-error, budget-exhausted, and verifier failures. */
  error?: string;
  /** Non-fatal trouble: retrieval or learning failed. */
  warnings: string[];
}
