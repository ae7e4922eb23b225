import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from './errors.js';
import { LlmConfigSchema, RepairPolicySchema } from './llm-config.js';

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

/** Reads the repo's `.reflexgenrc.json` (defaults when absent). Throws UserError with one line on bad input. */
export function loadConfig(repoRoot: string): Config {
  const file = join(repoRoot, CONFIG_FILE);
  if (!existsSync(file)) return parseConfig({});
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${CONFIG_FILE}: not valid JSON (${(err as Error).message})`);
  }
  return parseConfig(raw);
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
