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

