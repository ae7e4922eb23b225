import { z } from 'zod';
import { AnalyzerStatusSchema, FindingSchema, VerdictSchema } from './findings.js';

/*
 * JSON-RPC 2.0 shaped messages between the hook/CLI and the daemon. Both ends validate every
 * message with these schemas; the first request on a connection must be `hello`.
 */

export { ErrorCodes, TOKEN_HEADER } from './protocol-constants.js';

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
   * repo config names): the daemon was started by some earlier client and must not use that one's.
   */
  llmEnv: z.record(z.string(), z.string()).optional(),
});
export type CheckParams = z.infer<typeof CheckParamsSchema>;

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

export const Methods = {
  hello: { params: HelloParamsSchema, result: HelloResultSchema },
  check: { params: CheckParamsSchema, result: CheckResultSchema },
  status: { params: z.object({}).optional(), result: StatusResultSchema },
  shutdown: { params: z.object({}).optional(), result: ShutdownResultSchema },
} as const;
export type MethodName = keyof typeof Methods;

