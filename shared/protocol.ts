import { z } from 'zod';
import { AnalyzerStatusSchema, FindingSchema, LANGUAGES, VerdictSchema } from './findings.js';

/*
 * JSON-RPC 2.0 shaped messages between the hook/CLI and the daemon. Both ends validate every
 * message with these schemas; the first request on a connection must be `hello`.
 */

export { ErrorCodes, TOKEN_HEADER, MAX_MESSAGE_BYTES, HEARTBEAT_INTERVAL_MS, DEFAULT_SILENCE_TIMEOUT_MS } from './protocol-constants.js';

const Id = z.union([z.number().int(), z.string()]);

export const RequestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: Id,
  method: z.string(),
  params: z.unknown().optional(),
});
export type Request = z.infer<typeof RequestSchema>;

export const ErrorObjectSchema = z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() });

export const ResponseSchema = z.union([
  z.object({ jsonrpc: z.literal('2.0'), id: Id, result: z.unknown() }),
  z.object({ jsonrpc: z.literal('2.0'), id: Id.nullable(), error: ErrorObjectSchema }),
]);
export type Response = z.infer<typeof ResponseSchema>;

export const NotificationSchema = z.object({ jsonrpc: z.literal('2.0'), method: z.string(), params: z.unknown().optional() });

/** Anything the daemon may send: a response or a notification. */
export const ServerMessageSchema = z.union([ResponseSchema, NotificationSchema]);

// ---- hello ------------------------------------------------------------------------------------

export const HelloParamsSchema = z.object({
  protocolVersion: z.number().int(),
  clientVersion: z.string(),
  client: z.enum(['hook', 'cli', 'test']).default('cli'),
});
export const HelloResultSchema = z.object({
  protocolVersion: z.number().int(),
  daemonVersion: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
});
export type HelloResult = z.infer<typeof HelloResultSchema>;

// ---- check ------------------------------------------------------------------------------------

/** A 1-based inclusive range of lines in the new version of a file. */
export const LineRangeSchema = z.tuple([z.number().int().min(1), z.number().int().min(1)]);
export type LineRange = z.infer<typeof LineRangeSchema>;

export const FileChangeSchema = z.object({
  /** Repo-relative path of the new version, forward slashes. */
  path: z.string().min(1),
  oldPath: z.string().optional(),
  /** git's status letter: Added, Modified, Renamed, Copied, Deleted, Type change. */
  status: z.enum(['A', 'M', 'R', 'C', 'D', 'T']),
  /** Staged blob id; the daemon reads the content from the repo's object store by it. */
  blob: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/).optional(),
  /** Content given inline (base64) when the file is not in git's object store. */
  content: z.string().optional(),
  binary: z.boolean().default(false),
  /** Lines the change adds or modifies; "all" for a new file or a path check. */
  addedLines: z.union([z.literal('all'), z.array(LineRangeSchema)]),
});
export type FileChange = z.infer<typeof FileChangeSchema>;

export const IndexRefSchema = z.object({
  file: z.string().min(1).max(4096),
  checksum: z.string().regex(/^[0-9a-f]{64}$/),
});

export const CheckParamsSchema = z.object({
  repoRoot: z.string().min(1),
  /** Absolute path of the repository's git dir (worktrees and submodules have their own). */
  gitDir: z.string().optional(),
  mode: z.enum(['staged', 'paths']),
  files: z.array(FileChangeSchema),
  /** What the change is for (the x of the paper): the commit message when the hook knows it. */
  task: z.string().optional(),
  /**
   * The caller's LLM settings from its environment (REFLEXGEN_LLM_* and the API key variable the
   * user's settings name): the daemon was started by some earlier client and must not use that one's.
   */
  llmEnv: z.record(z.string(), z.string()).optional(),
  /**
   * Staged mode from the hook: the index file git is committing and its checksum when the hook
   * read the change. The daemon remembers the verdict under the index's content identity only when
   * the file still ends with this checksum after the check (nothing was staged in between).
   */
  index: IndexRefSchema.optional(),
});
export type CheckParams = z.infer<typeof CheckParamsSchema>;

/** The hook's first question: is the verdict for exactly this index and HEAD already known? */
export const VerdictParamsSchema = z.object({
  repoRoot: z.string().min(1),
  gitDir: z.string().min(1),
  index: IndexRefSchema,
  llmEnv: z.record(z.string(), z.string()).optional(),
});
export type VerdictParams = z.infer<typeof VerdictParamsSchema>;

export const CheckResultSchema = z.object({
  verdict: VerdictSchema,
  findings: z.array(FindingSchema),
  /** Findings on lines the change did not touch (not blocking under scope changed-lines). */
  preExisting: z.number().int().min(0),
  suppressed: z.number().int().min(0).default(0),
  analyzers: z.array(AnalyzerStatusSchema),
  /** Human-readable lines the hook prints before the findings (fail-open warnings and the like). */
  notices: z.array(z.string()),
  timings: z.record(z.string(), z.number()),
  /** Knowledge retrieved for the findings, shown with or without an LLM. */
  guidance: z.array(z.lazy(() => GuidanceSchema)).optional(),
  /** Reflect-and-repair outcomes, one per file with blocking findings (only with an LLM configured). */
  repairs: z.array(z.lazy(() => RepairOutcomeSchema)).optional(),
  repairPolicy: z.enum(['off', 'suggest', 'apply']).optional(),
  /** Verified repairs (by id) the client applies to the index: the verdict assumes them. */
  applyRepairs: z.array(z.string()).optional(),
  /** Source files some analyzer (or none: no tool) did not analyze, with the reason. */
  notAnalyzed: z.array(z.object({ tool: z.string().optional(), path: z.string(), reason: z.string() })).optional(),
});

export const GuidanceSchema = z.object({
  file: z.string(),
  cwe: z.array(z.string()),
  hits: z.array(
    z.object({ id: z.string(), title: z.string(), cwe: z.array(z.string()), lesson: z.string(), score: z.number(), source: z.string().optional() }),
  ),
});
export type Guidance = z.infer<typeof GuidanceSchema>;

export const RepairOutcomeSchema = z.object({
  id: z.string(),
  file: z.string(),
  status: z.enum(['repaired', 'unrepaired', 'secure', 'budget-exhausted', 'llm-error']),
  /** The findings the repair set out to remove. */
  targets: z.array(FindingSchema),
  /** Only for a verified repair: a unified diff from the staged content, and the whole new file. */
  patch: z.string().optional(),
  content: z.string().optional(),
  /** The staged blob the patch applies to (applying refuses when the index moved on). */
  stagedBlob: z.string().optional(),
  iterations: z.number().int(),
  tokens: z.number().int(),
  ms: z.number(),
  knowledgeUsed: z.array(z.string()),
  learned: z.boolean().default(false),
  error: z.string().optional(),
});
export type RepairOutcome = z.infer<typeof RepairOutcomeSchema>;
export type CheckResult = z.infer<typeof CheckResultSchema>;

// ---- status / shutdown ------------------------------------------------------------------------

export const StatusResultSchema = z.object({
  pid: z.number().int(),
  version: z.string(),
  protocolVersion: z.number().int(),
  startedAt: z.string(),
  uptimeMs: z.number(),
  socket: z.string(),
  stateDir: z.string(),
  repos: z.array(z.string()),
  checks: z.object({ running: z.number().int(), done: z.number().int() }),
  memory: z.object({ rss: z.number(), heapUsed: z.number() }),
  idleExitMs: z.number(),
  watcher: z
    .object({ repos: z.number(), queued: z.number(), running: z.boolean(), events: z.number(), runs: z.number(), lastError: z.string().optional() })
    .optional(),
  cache: z.object({ hits: z.number(), misses: z.number(), entries: z.number(), analyzerRuns: z.number(), hitRate: z.number() }).optional(),
  /** Whole verdicts answered without a check (the hook's first question). */
  verdicts: z.object({ hits: z.number(), misses: z.number(), entries: z.number() }).optional(),
});
export type StatusResult = z.infer<typeof StatusResultSchema>;

export const WatchParamsSchema = z.object({ repoRoot: z.string().min(1), gitDir: z.string().min(1) });
export const WatchResultSchema = z.object({ watching: z.boolean() });

export const ShutdownResultSchema = z.object({ ok: z.literal(true) });

// ---- progress notification --------------------------------------------------------------------

export const ProgressParamsSchema = z.object({
  requestId: Id,
  stage: z.string(),
  message: z.string(),
  done: z.number().int().optional(),
  total: z.number().int().optional(),
});
export type ProgressParams = z.infer<typeof ProgressParamsSchema>;

// ---- heartbeat notification -------------------------------------------------------------------

/** Sent every HEARTBEAT_INTERVAL_MS while a request runs: silence means a stopped or wedged daemon. */
export const HeartbeatParamsSchema = z.object({ requestId: Id });
export type HeartbeatParams = z.infer<typeof HeartbeatParamsSchema>;

// ---- knowledge base (kb.*) ---------------------------------------------------------------------

export const KNOWLEDGE_SOURCES = ['starter', 'repair', 'manual', 'team'] as const;
const SourceSchema = z.enum(KNOWLEDGE_SOURCES);

export const KbEntrySchema = z.object({
  id: z.string(),
  title: z.string(),
  cwe: z.array(z.string()),
  language: z.string(),
  description: z.string().optional(),
  vulnerableCode: z.string().optional(),
  secureCode: z.string().optional(),
  lesson: z.string(),
  task: z.string().optional(),
  rules: z.array(z.string()).optional(),
  tags: z.array(z.string()).optional(),
  source: SourceSchema,
  retrieved: z.number(),
  helped: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  repo: z.string().optional(),
});
export type KbEntry = z.infer<typeof KbEntrySchema>;

export const KbHitSchema = z.object({
  id: z.string(),
  title: z.string(),
  cwe: z.array(z.string()),
  language: z.string(),
  lesson: z.string(),
  secureCode: z.string().optional(),
  vulnerableCode: z.string().optional(),
  source: SourceSchema,
  score: z.number(),
  parts: z.record(z.string(), z.number()).optional(),
});
export type KbHit = z.infer<typeof KbHitSchema>;

export const KbListParamsSchema = z
  .object({ source: SourceSchema.optional(), cwe: z.string().optional(), language: z.string().optional(), limit: z.number().int().positive().optional() })
  .default({});

export const KbSearchParamsSchema = z.object({
  query: z.string().min(1),
  code: z.string().optional(),
  language: z.string().optional(),
  cwe: z.array(z.string()).optional(),
  repoRoot: z.string().optional(),
  k: z.number().int().min(1).max(100).default(5),
  explain: z.boolean().default(false),
});

/** The entry is validated in full by the knowledge base's own schema (one place for its rules). */
export const KbAddParamsSchema = z.object({ entry: z.record(z.string(), z.unknown()) });
export const KbRemoveParamsSchema = z.object({ id: z.string().min(1) });
export const KbRemoveResultSchema = z.object({ removed: z.boolean() });
export const KbExportResultSchema = z.object({ jsonl: z.string(), count: z.number().int() });
export const KbImportParamsSchema = z.object({ jsonl: z.string(), source: z.enum(['starter', 'repair', 'manual']).optional() });
export const KbImportResultSchema = z.object({
  added: z.number().int(),
  updated: z.number().int(),
  errors: z.array(z.object({ line: z.number().int(), message: z.string() })),
});
export const KbStatsParamsSchema = z.object({ repoRoot: z.string().optional() }).default({});
export const KbStatsResultSchema = z.object({
  total: z.number().int(),
  bySource: z.record(z.string(), z.number()),
  byCwe: z.record(z.string(), z.number()),
  byLanguage: z.record(z.string(), z.number()),
  embeddings: z.object({ model: z.string().nullable(), dim: z.number().nullable(), lexicalOnly: z.boolean(), reason: z.string().optional() }),
  starterVersion: z.number().nullable(),
  teamRepos: z.array(z.string()),
});
export type KbStats = z.infer<typeof KbStatsResultSchema>;

// ---- generate ---------------------------------------------------------------------------------

export const GenerateParamsSchema = z.object({
  language: z.enum(LANGUAGES),
  task: z.string().optional(),
  incomplete: z.string().optional(),
  /** A file name only: it labels the code and picks the verifier's parser. */
  path: z.string().optional(),
  noReflect: z.boolean().default(false),
  /** The repository the command ran in, if any: its trusted settings may choose the model. */
  repoRoot: z.string().optional(),
  llmEnv: z.record(z.string(), z.string()).optional(),
});

const GenerateIterationSchema = z.object({
  n: z.number(),
  accepted: z.boolean(),
  parses: z.boolean().optional(),
  findings: z.array(FindingSchema),
  feedback: z.string(),
  knowledge: z.array(z.string()),
});

export const GenerateResultSchema = z.object({
  status: z.string(),
  code: z.string().optional(),
  y0: z.string().optional(),
  initialFindings: z.array(FindingSchema),
  iterations: z.array(GenerateIterationSchema),
  knowledgeUsed: z.array(z.string()),
  tokens: z.object({ prompt: z.number(), completion: z.number(), total: z.number() }),
  seconds: z.number(),
  learned: z.boolean(),
  error: z.string().optional(),
});

// ---- the contract -------------------------------------------------------------------------------

const NoParams = z.object({}).optional();

/** Every request the daemon answers: its params and its result. Clients and handlers are typed from it. */
export const Methods = {
  hello: { params: HelloParamsSchema, result: HelloResultSchema },
  check: { params: CheckParamsSchema, result: CheckResultSchema },
  verdict: { params: VerdictParamsSchema, result: z.object({ result: CheckResultSchema.optional() }) },
  status: { params: NoParams, result: StatusResultSchema },
  shutdown: { params: NoParams, result: ShutdownResultSchema },
  watch: { params: WatchParamsSchema, result: WatchResultSchema },
  generate: { params: GenerateParamsSchema, result: GenerateResultSchema },
  'kb.search': { params: KbSearchParamsSchema, result: z.array(KbHitSchema) },
  'kb.list': { params: KbListParamsSchema, result: z.array(KbEntrySchema) },
  'kb.add': { params: KbAddParamsSchema, result: KbEntrySchema },
  'kb.remove': { params: KbRemoveParamsSchema, result: KbRemoveResultSchema },
  'kb.export': { params: KbListParamsSchema, result: KbExportResultSchema },
  'kb.import': { params: KbImportParamsSchema, result: KbImportResultSchema },
  'kb.stats': { params: KbStatsParamsSchema, result: KbStatsResultSchema },
} as const;
export type MethodName = keyof typeof Methods;
/** What a caller sends (defaults may be left out). */
export type MethodParams<M extends MethodName> = z.input<(typeof Methods)[M]['params']>;
/** What the daemon answers. */
export type MethodResult<M extends MethodName> = z.infer<(typeof Methods)[M]['result']>;

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(Methods, name);
}
