import { z } from 'zod';

export { LlmConfigSchema, RepairPolicySchema, type LlmConfig, type LlmConfigInput, type RepairPolicy } from '../../shared/llm-config.js';
import { LlmConfigSchema, type LlmConfig } from '../../shared/llm-config.js';

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

/**
 * Only the variables the committing client forwarded: never the daemon's own environment, which was
 * inherited from whichever shell (and repository) happened to start it.
 */
export function llmEnvironment(fromClient: Record<string, string> | undefined): Record<string, string | undefined> {
  return { ...(fromClient ?? {}) };
}
