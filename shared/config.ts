import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from './errors.js';
import { LlmConfigSchema, RepairPolicySchema } from './llm-config.js';

export const CONFIG_FILE = '.reflexgenrc.json';

/** Every analyzer id the product knows; a typo in `analyzers` is an error, not a silent no-op. */
export const ANALYZER_IDS = ['bandit', 'gcc', 'cppcheck', 'builtin', 'clang', 'eslint', 'codeql'] as const;
export type AnalyzerId = (typeof ANALYZER_IDS)[number];

const AnalyzerSettingSchema = z.union([
  z.boolean(),
  z
    .object({
      enabled: z.boolean().default(true),
      timeoutMs: z.number().int().min(100).max(3_600_000).optional(),
      /** Extra command-line arguments for tools that take them. */
      args: z.array(z.string()).optional(),
    })
    .strict(),
]);

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

export function analyzerArgs(config: Config, id: AnalyzerId): string[] {
  const s = config.analyzers[id];
  return typeof s === 'object' && s.args ? s.args : [];
}
