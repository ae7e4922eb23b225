import { z } from 'zod';
import { UserError } from './errors.js';
import { readFile } from 'node:fs/promises';
import { LlmConfigSchema, RepairPolicySchema } from './llm-config.js';
import { stateDir } from './paths.js';
import { readRepoFile, REPO_FILE_CAPS } from './repo-files.js';
import { contentHash, trustedHash } from './trust.js';
import { userConfigPath } from './user-settings.js';

export const CONFIG_FILE = '.reflexgenrc.json';

/** Every analyzer id the product knows; a typo in `analyzers` is an error, not a silent no-op. */
export const ANALYZER_IDS = ['bandit', 'gcc', 'cppcheck', 'builtin', 'clang', 'eslint', 'codeql'] as const;
export type AnalyzerId = (typeof ANALYZER_IDS)[number];

/*
 * What a repository may say about a tool: a closed vocabulary, never free-form arguments (a
 * repository file must not choose options such as -MF/-o/-fplugin or CodeQL's build command).
 * Include dirs are checked lexically here and confined to the repository again (realpath) where
 * they are used: daemon/analyzers/build-context.ts.
 */
export const C_STANDARDS = [
  'c89', 'c90', 'c99', 'c11', 'c17', 'c18', 'c2x', 'c23',
  'gnu89', 'gnu90', 'gnu99', 'gnu11', 'gnu17', 'gnu18', 'gnu2x', 'gnu23',
  'c++98', 'c++03', 'c++11', 'c++14', 'c++17', 'c++20', 'c++2b', 'c++23',
  'gnu++98', 'gnu++03', 'gnu++11', 'gnu++14', 'gnu++17', 'gnu++20', 'gnu++2b', 'gnu++23',
] as const;
export const CODEQL_SUITES = ['default', 'security-extended', 'security-and-quality'] as const;
/** `NAME` or `NAME=value`; the value is a plain token or one double-quoted string without quotes or backslashes inside. */
export const DEFINE_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}(=([A-Za-z0-9_.+\-:/]{0,256}|"[A-Za-z0-9_.+\-:/ ,]{0,256}"))?$/;

/** A repo-relative directory: no absolute path, no `..` segment, nothing that could read as an option. */
export function isRepoRelativeDir(d: string): boolean {
  if (d.length === 0 || d.length > 512 || d.startsWith('/') || d.startsWith('-') || /[\0-\x1f\\]/.test(d)) return false;
  return d.split('/').every((seg) => seg !== '..');
}

const ARGS_REPLACED = 'free-form tool arguments are not accepted; use includeDirs, defines, std, timeoutMs, fileTimeoutMs (codeql: suite)';

const AnalyzerSettingSchema = z.union(
  [
    z.boolean(),
    z
      .object({
        enabled: z.boolean().default(true),
        timeoutMs: z.number().int().min(100).max(3_600_000).optional(),
        /** Bound on one file's expensive pass (gcc -fanalyzer, clang --analyze); past it the file is "not analyzed". */
        fileTimeoutMs: z.number().int().min(1).max(3_600_000).optional(),
        includeDirs: z.array(z.string().refine(isRepoRelativeDir, 'must be a directory inside the repository (relative, no "..")')).max(64).optional(),
        defines: z.array(z.string().regex(DEFINE_RE, 'must be NAME or NAME=value')).max(128).optional(),
        std: z.enum(C_STANDARDS).optional(),
        suite: z.enum(CODEQL_SUITES).optional(),
        args: z.unknown().optional(),
      })
      .strict()
      .superRefine((v, ctx) => {
        if (v.args !== undefined) ctx.addIssue({ code: 'custom', path: ['args'], message: ARGS_REPLACED });
      }),
  ],
  {
    // Name the offending key of an object setting instead of zod's "Invalid input" for the union.
    error: (iss) => {
      const branch = (iss as { errors?: Array<Array<{ path: PropertyKey[]; message: string }>> }).errors?.[1]?.[0];
      if (!branch || typeof iss.input !== 'object' || iss.input === null) return 'must be true, false or an object';
      return branch.path.length ? `${branch.path.map(String).join('.')}: ${branch.message}` : branch.message;
    },
  },
);

export const ConfigSchema = z
  .object({
    $schema: z.string().optional(),
    /** What a finding in new code does to the commit. */
    onFinding: z.enum(['block', 'warn']).default('block'),
    /** What the hook does when the daemon or an analyzer cannot run. */
    failMode: z.enum(['open', 'closed']).default('open'),
    /** Which findings count: only on lines the commit adds/changes, or anywhere in a changed file. */
    scope: z.enum(['changed-lines', 'changed-files']).default('changed-lines'),
    /** Findings below this severity are reported but never block. */
    minSeverity: z.enum(['error', 'warning', 'note']).default('warning'),
    analyzers: z.partialRecord(z.enum(ANALYZER_IDS), AnalyzerSettingSchema).default({}),
    /** Seconds an analyzer may run on one file (or snapshot) before it is abandoned. */
    analyzerTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
    /**
     * Staged files above this many bytes are not analyzed (reported, and counted under failMode).
     * Default 2 MiB (env REFLEXGEN_MAX_FILE_BYTES); at most 64 MiB.
     */
    maxFileBytes: z.number().int().min(1).max(64 * 1024 * 1024).optional(),
    /** Repo-relative path prefixes or simple globs (`*`, `**`) never analyzed. */
    exclude: z.array(z.string()).default([]),
    /** Rules switched off: a rule id, `tool:ruleId`, or a CWE id, mapped to false. */
    rules: z.record(z.string(), z.boolean()).default({}),
    /** Whether .reflexgen/baseline.json (written by `reflexgen baseline`) hides the findings it records. */
    baseline: z.boolean().default(true),
    /** The model endpoint for reflect-and-repair (env REFLEXGEN_LLM_* overrides it). */
    llm: LlmConfigSchema.optional(),
    /** What a verified repair does: nothing, a suggested patch (commit blocked), or applied to the commit. */
    repair: RepairPolicySchema,
    /** With an LLM configured, the model reviews every changed function: its findings are notes, block like any analyzer's, or are not asked for. */
    modelReview: z.enum(['note', 'block', 'off']).default('note'),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** One line naming the first problem: `.reflexgenrc.json: onFinding: Invalid option: expected one of "block"|"warn"`. */
export function describeZodError(prefix: string, err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return `${prefix}: invalid`;
  const where = issue.path.length ? issue.path.join('.') : '(top level)';
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') msg = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${prefix}: ${where}: ${msg}`;
}

export function parseConfig(raw: unknown, source = CONFIG_FILE): Config {
  const parsed = ConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new UserError(describeZodError(source, parsed.error));
  return parsed.data;
}

/** What a check runs with: the effective settings and what the report must say about where they came from. */
export interface LoadedConfig {
  config: Config;
  /** Whether the repository's config file exists and its exact content was trusted with `reflexgen trust`. */
  repoFile: { present: boolean; trusted: boolean; sha256?: string };
  /** Settings of the repository file that were not applied (it is not trusted, or they are user-only). */
  ignored: string[];
  /** The effective model endpoint was chosen by the (trusted) repository file, not by the user. */
  llmFromRepo: boolean;
  /** One-line notices for every report: ignored settings, weakened policy, an unreadable file. */
  notices: string[];
}

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * The settings of a repository file that send data off the machine, pick secrets, choose what runs
 * with which options, or change committed content: applied only when the user trusts the file.
 * `llm.apiKeyEnv` is never taken from a repository, trusted or not.
 */
export function sensitiveSettings(repoRaw: Raw): { gated: string[]; userOnly: string[] } {
  const gated: string[] = [];
  const userOnly: string[] = [];
  if (isObj(repoRaw.llm)) {
    for (const k of Object.keys(repoRaw.llm)) (k === 'apiKeyEnv' ? userOnly : gated).push(`llm.${k}`);
  }
  if (repoRaw.repair === 'apply') gated.push('repair: "apply"');
  const analyzers = isObj(repoRaw.analyzers) ? repoRaw.analyzers : {};
  for (const [id, s] of Object.entries(analyzers)) {
    if (!isObj(s) || id !== 'codeql') continue;
    for (const k of Object.keys(s)) if (k !== 'enabled' && k !== 'timeoutMs') gated.push(`analyzers.${id}.${k}`);
  }
  return { gated, userOnly };
}

function withoutSensitive(repoRaw: Raw, trusted: boolean): Raw {
  const out: Raw = { ...repoRaw };
  if (isObj(out.llm)) {
    const { apiKeyEnv: _drop, ...rest } = out.llm;
    if (trusted && Object.keys(rest).length) out.llm = rest;
    else delete out.llm;
  }
  if (trusted) return out;
  if (out.repair === 'apply') delete out.repair;
  if (isObj(out.analyzers) && isObj(out.analyzers.codeql)) {
    const { enabled, timeoutMs } = out.analyzers.codeql as Raw;
    out.analyzers = { ...out.analyzers, codeql: { ...(enabled !== undefined ? { enabled } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) } };
  }
  return out;
}

/** User defaults first, the repository's policy over them; lists of excludes add up. */
function mergeLayers(user: Raw, repo: Raw): Raw {
  const out: Raw = { ...user, ...repo };
  if (isObj(user.llm) || isObj(repo.llm)) out.llm = { ...(isObj(user.llm) ? user.llm : {}), ...(isObj(repo.llm) ? repo.llm : {}) };
  if (isObj(user.analyzers) || isObj(repo.analyzers)) out.analyzers = { ...(isObj(user.analyzers) ? user.analyzers : {}), ...(isObj(repo.analyzers) ? repo.analyzers : {}) };
  if (isObj(user.rules) || isObj(repo.rules)) out.rules = { ...(isObj(user.rules) ? user.rules : {}), ...(isObj(repo.rules) ? repo.rules : {}) };
  if (Array.isArray(user.exclude) || Array.isArray(repo.exclude)) out.exclude = [...((user.exclude as unknown[]) ?? []), ...((repo.exclude as unknown[]) ?? [])];
  return out;
}

/** Every way the effective settings let more through than the defaults, in one line (empty: none). */
export function weakenings(config: Config): string {
  const parts: string[] = [];
  const off = Object.entries(config.rules).filter(([, on]) => !on).map(([k]) => k);
  if (off.length) parts.push(`rules off: ${off.join(', ')}`);
  const analyzersOff = ANALYZER_IDS.filter((id) => id !== 'codeql' && config.analyzers[id] !== undefined && !analyzerEnabled(config, id));
  if (analyzersOff.length) parts.push(`analyzers off: ${analyzersOff.join(', ')}`);
  if (config.onFinding === 'warn') parts.push('onFinding: warn');
  if (config.minSeverity === 'error') parts.push('minSeverity: error');
  if (config.exclude.length) parts.push(`exclude: ${config.exclude.slice(0, 3).join(', ')}${config.exclude.length > 3 ? ` (+${config.exclude.length - 3} more)` : ''}`);
  if (!parts.length) return '';
  return `settings that weaken this check: ${parts.join('; ')}`;
}

function parseJsonText(text: string, source: string): Raw {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObj(raw)) throw new UserError(`${source}: (top level): expected an object`);
  // Validate each layer on its own so an error names the file it is in.
  parseConfig(raw, source);
  return raw;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the user's trust decisions live (the state dir). */
  stateDir: string;
}

/**
 * The settings a check in `repoRoot` runs with: the user's file, then the repository's
 * `.reflexgenrc.json` for policy, and the repository's sensitive settings only when the user trusts
 * that exact content. Throws UserError with one line on a bad file.
 */
export async function loadEffectiveConfig(repoRoot: string | undefined, opts: LoadOptions): Promise<LoadedConfig> {
  const notices: string[] = [];
  const userPath = userConfigPath(opts.env);
  let user: Raw = {};
  const userText = await readFile(userPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new UserError(`${userPath}: cannot be read (${err.code ?? err.message})`);
  });
  if (userText !== undefined) user = parseJsonText(userText, userPath);

  let repoRaw: Raw = {};
  const repoFile: LoadedConfig['repoFile'] = { present: false, trusted: false };
  if (repoRoot) {
    const read = await readRepoFile(repoRoot, CONFIG_FILE, REPO_FILE_CAPS.config);
    if (read.kind === 'refused') notices.push(`ignored ${read.reason}`);
    if (read.kind === 'ok') {
      repoRaw = parseJsonText(read.text, CONFIG_FILE);
      repoFile.present = true;
      repoFile.sha256 = contentHash(read.text);
      repoFile.trusted = (await trustedHash(opts.stateDir, repoRoot)) === repoFile.sha256;
    }
  }
  const { gated, userOnly } = sensitiveSettings(repoRaw);
  const ignored = [...(repoFile.trusted ? [] : gated), ...userOnly];
  if (ignored.length) {
    const why = repoFile.trusted ? 'user settings only' : 'not applied until you review the file and run `reflexgen trust`';
    notices.push(`${CONFIG_FILE} sets ${ignored.join(', ')}: ${why}`);
  }
  const config = parseConfig(mergeLayers(user, withoutSensitive(repoRaw, repoFile.trusted)), CONFIG_FILE);
  const weak = weakenings(config);
  if (weak) notices.push(weak);
  const llmFromRepo = repoFile.trusted && isObj(repoRaw.llm) && (repoRaw.llm.baseURL !== undefined || repoRaw.llm.model !== undefined);
  return { config, repoFile, ignored, llmFromRepo, notices };
}

/** The effective settings alone (CLI commands that only need them). */
export async function loadConfig(repoRoot: string | undefined, env: NodeJS.ProcessEnv = process.env, state?: string): Promise<Config> {
  return (await loadEffectiveConfig(repoRoot, { env, stateDir: state ?? stateDir(env) })).config;
}

export function analyzerEnabled(config: Config, id: AnalyzerId, defaultOn = true): boolean {
  const s = config.analyzers[id];
  if (s === undefined) return defaultOn;
  return typeof s === 'boolean' ? s : s.enabled;
}

export function analyzerTimeout(config: Config, id: AnalyzerId): number {
  const s = config.analyzers[id];
  return typeof s === 'object' && s.timeoutMs ? s.timeoutMs : config.analyzerTimeoutMs;
}

export interface AnalyzerOptions {
  includeDirs: string[];
  defines: string[];
  std?: (typeof C_STANDARDS)[number];
  suite?: (typeof CODEQL_SUITES)[number];
  fileTimeoutMs?: number;
}

/** The validated per-tool vocabulary (never raw arguments: see AnalyzerSettingSchema). */
export function analyzerArgs(config: Config, id: AnalyzerId): AnalyzerOptions {
  const s = config.analyzers[id];
  if (typeof s !== 'object') return { includeDirs: [], defines: [] };
  return { includeDirs: s.includeDirs ?? [], defines: s.defines ?? [], std: s.std, suite: s.suite, fileTimeoutMs: s.fileTimeoutMs };
}
