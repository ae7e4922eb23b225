import { z } from 'zod';

/**
 * The `llm` section of `.reflexgenrc.json`. The key itself never lives in committed config: only the
 * name of the environment variable that holds it.
 */
export const LlmConfigSchema = z
  .object({
    baseURL: z.string().url().optional(),
    model: z.string().min(1).optional(),
    apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('OPENAI_API_KEY'),
    temperature: z.number().min(0).max(2).default(0.2),
    topP: z.number().gt(0).max(1).optional(),
    /** One request, including reading a streamed answer. */
    timeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
    /** Everything the engine does for one commit; when it runs out the report goes out without a repair. */
    budgetMs: z.number().int().min(100).max(3_600_000).default(120_000),
    maxIterations: z.number().int().min(1).max(20).default(3),
    maxTokens: z.number().int().min(16).max(200_000).default(1024),
    /** Retries of one request on 429/5xx/connection errors, always cut short by the budget. */
    maxRetries: z.number().int().min(0).max(10).default(2),
    stream: z.boolean().default(false),
    /** auto: redact secrets unless the endpoint is on the loopback interface. */
    redact: z.enum(['auto', 'on', 'off']).default('auto'),
  })
  .strict();

export type LlmConfigInput = z.input<typeof LlmConfigSchema>;
export type LlmConfig = z.infer<typeof LlmConfigSchema>;

/** What the commit gate does with a verified repair. */
export const RepairPolicySchema = z.enum(['off', 'suggest', 'apply']).default('suggest');
export type RepairPolicy = z.infer<typeof RepairPolicySchema>;

/** A usable LLM configuration: endpoint and model known, key looked up, redaction decided. */
export interface ResolvedLlmConfig extends Omit<LlmConfig, 'baseURL' | 'model' | 'redact'> {
  baseURL: string;
  model: string;
  /** Undefined for endpoints that need none (most local servers). */
  apiKey?: string;
  redact: boolean;
  /** The configured mode, kept for reports. */
  redactMode: LlmConfig['redact'];
}

type Env = Record<string, string | undefined>;

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

/**
 * Applies the REFLEXGEN_LLM_* environment overrides to the file's `llm` section. Returns undefined when
 * no endpoint or no model is configured: the caller then analyzes and shows guidance without repairing.
 * Throws a ZodError on an invalid section (the config loader turns it into one line).
 */
export function resolveLlmConfig(fileSection: unknown, env: Env = process.env): ResolvedLlmConfig | undefined {
  const parsed = LlmConfigSchema.parse(fileSection ?? {});
  const baseURL = nonEmpty(env.REFLEXGEN_LLM_BASE_URL) ?? parsed.baseURL;
  const model = nonEmpty(env.REFLEXGEN_LLM_MODEL) ?? parsed.model;
  if (!baseURL || !model) return undefined;
  // An env override is not validated by the schema, so check it the same way.
  z.string().url().parse(baseURL);
  const apiKey = nonEmpty(env.REFLEXGEN_LLM_API_KEY) ?? nonEmpty(env[parsed.apiKeyEnv]);
  const redact = parsed.redact === 'on' || (parsed.redact === 'auto' && !isLoopback(baseURL));
  const { baseURL: _b, model: _m, redact: _r, ...rest } = parsed;
  return { ...rest, baseURL, model, apiKey, redact, redactMode: parsed.redact };
}

/** True for 127.0.0.0/8, ::1 and localhost: the only endpoints that see code unredacted by default. */
export function isLoopback(baseURL: string): boolean {
  let host: string;
  try {
    host = new URL(baseURL).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  // WHATWG URL rewrites ::ffff:127.0.0.1 to ::ffff:7f00:1.
  if (/^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(host)) return true;
  const v4 = host.replace(/^::ffff:/, '');
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  if (m) return Number(m[1]) === 127 && m.slice(2).every((p) => Number(p) <= 255);
  return false;
}
