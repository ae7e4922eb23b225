import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { ResolvedLlmConfig } from './config.js';
import { Redactor } from './redact.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface TokenUsage {
  prompt: number;
  completion: number;
  total: number;
}

export interface ChatOptions {
  /** Cancels the request (the caller's own cancellation, e.g. the commit was aborted). */
  signal?: AbortSignal;
  /** Epoch ms after which nothing may be in flight: the per-commit budget. */
  deadline?: number;
  stream?: boolean;
  maxTokens?: number;
  temperature?: number;
}

export interface ChatResult {
  /** The answer, secrets restored. */
  content: string;
  usage: TokenUsage;
  /** Attempts made, 1 when the first one worked. */
  attempts: number;
  ms: number;
  finishReason?: string;
}

export type LlmErrorKind = 'http' | 'timeout' | 'connection' | 'garbage' | 'budget' | 'aborted';

/** Everything that goes wrong talking to the model, with a one-line message fit for the hook's report. */
export class LlmError extends Error {
  override name = 'LlmError';
  constructor(
    message: string,
    readonly kind: LlmErrorKind,
    readonly status?: number,
  ) {
    super(message.replace(/\s+/g, ' ').trim());
  }
}

export interface LlmClient {
  readonly config: ResolvedLlmConfig;
  /** Whether prompts are redacted before they leave. */
  readonly redacting: boolean;
  /** Summed over every call this client made. */
  readonly usage: TokenUsage;
  chat(messages: ChatMessage[], opts?: ChatOptions): Promise<ChatResult>;
}

export interface CreateLlmClientOptions {
  /** Shared with other clients when one commit's placeholders must stay stable across them. */
  redactor?: Redactor;
  /** Test seam for the backoff waits; production code leaves it alone. */
  backoffBaseMs?: number;
}

const RETRY_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504]);
const MAX_BACKOFF_MS = 8_000;

export function emptyUsage(): TokenUsage {
  return { prompt: 0, completion: 0, total: 0 };
}

export function addUsage(into: TokenUsage, u: TokenUsage): void {
  into.prompt += u.prompt;
  into.completion += u.completion;
  into.total += u.total;
}

function clip(s: string, n = 160): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function retryAfterMs(err: APIError): number | undefined {
  const h = err.headers;
  const ms = h?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const s = h?.get('retry-after');
  if (!s) return undefined;
  if (Number.isFinite(Number(s))) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

interface Attempt {
  content: string;
  usage?: TokenUsage;
  finishReason?: string;
}

function readUsage(u: unknown): TokenUsage | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const o = u as Record<string, unknown>;
  const prompt = typeof o.prompt_tokens === 'number' ? o.prompt_tokens : 0;
  const completion = typeof o.completion_tokens === 'number' ? o.completion_tokens : 0;
  const total = typeof o.total_tokens === 'number' ? o.total_tokens : prompt + completion;
  return { prompt, completion, total };
}

/** Pulls the text out of a chat completion, refusing anything that is not one. */
function readCompletion(body: unknown): Attempt {
  if (typeof body === 'string') throw new LlmError(`LLM answer was not usable: the response body was not JSON (${clip(body, 80) || 'empty'})`, 'garbage');
  if (!body || typeof body !== 'object') throw new LlmError('LLM answer was not usable: empty response body', 'garbage');
  const o = body as { choices?: unknown; usage?: unknown; error?: unknown };
  if (o.error) throw new LlmError(`LLM endpoint returned an error: ${clip(JSON.stringify(o.error))}`, 'http');
  if (!Array.isArray(o.choices) || o.choices.length === 0) throw new LlmError('LLM answer was not usable: the response has no choices', 'garbage');
  const choice = o.choices[0] as { message?: { content?: unknown }; finish_reason?: string } | undefined;
  const content = choice?.message?.content;
  if (typeof content !== 'string' || content.trim() === '') throw new LlmError('LLM answer was not usable: the response has empty content', 'garbage');
  return { content, usage: readUsage(o.usage), finishReason: choice?.finish_reason ?? undefined };
}

export function createLlmClient(config: ResolvedLlmConfig, opts: CreateLlmClientOptions = {}): LlmClient {
  const redactor = config.redact ? (opts.redactor ?? new Redactor()) : undefined;
  const backoffBase = opts.backoffBaseMs ?? 500;
  const openai = new OpenAI({
    baseURL: config.baseURL,
    // Local servers take no key, but the SDK refuses to start without one.
    apiKey: config.apiKey ?? 'no-key',
    // Retries are ours: they must stop at the commit's budget, which the SDK cannot know.
    maxRetries: 0,
    timeout: config.timeoutMs,
    logLevel: 'off',
  });
  const usage = emptyUsage();

  async function attempt(messages: ChatMessage[], o: ChatOptions, signal: AbortSignal, timeoutMs: number): Promise<Attempt> {
    const params = {
      model: config.model,
      messages,
      temperature: o.temperature ?? config.temperature,
      ...(config.topP !== undefined ? { top_p: config.topP } : {}),
      max_tokens: o.maxTokens ?? config.maxTokens,
    };
    const stream = o.stream ?? config.stream;
    if (!stream) {
      const body: unknown = await openai.chat.completions.create({ ...params, stream: false }, { signal, timeout: timeoutMs });
      return readCompletion(body);
    }
    const chunks = await openai.chat.completions.create(
      { ...params, stream: true, stream_options: { include_usage: true } },
      { signal, timeout: timeoutMs },
    );
    let content = '';
    let sawChoice = false;
    let u: TokenUsage | undefined;
    let finishReason: string | undefined;
    try {
      for await (const chunk of chunks) {
        const c = chunk as unknown as { choices?: Array<{ delta?: { content?: unknown }; finish_reason?: string | null }>; usage?: unknown };
        if (c.usage) u = readUsage(c.usage);
        for (const ch of c.choices ?? []) {
          sawChoice = true;
          if (typeof ch.delta?.content === 'string') content += ch.delta.content;
          if (ch.finish_reason) finishReason = ch.finish_reason;
        }
      }
    } catch (err) {
      if (err instanceof SyntaxError) throw new LlmError('LLM answer was not usable: the event stream carried data that is not JSON', 'garbage');
      throw err;
    }
    if (!sawChoice) throw new LlmError('LLM answer was not usable: the stream carried no choices', 'garbage');
    if (content.trim() === '') throw new LlmError('LLM answer was not usable: the streamed content was empty', 'garbage');
    return { content, usage: u, finishReason };
  }

  async function chat(messages: ChatMessage[], o: ChatOptions = {}): Promise<ChatResult> {
    const started = Date.now();
    const deadline = o.deadline ?? Number.POSITIVE_INFINITY;
    const outgoing = redactor ? messages.map((m) => ({ role: m.role, content: redactor.redact(m.content) })) : messages;
    const maxAttempts = config.maxRetries + 1;
    let lastError: LlmError | undefined;
    let attempts = 0;
    while (attempts < maxAttempts) {
      if (o.signal?.aborted) throw new LlmError('LLM request cancelled', 'aborted');
      const left = deadline - Date.now();
      if (left <= 0) throw budgetError(lastError);
      attempts++;
      const timeoutMs = Math.max(1, Math.min(config.timeoutMs, left));
      const byBudget = left < config.timeoutMs;
      // The SDK's own timeout stops at the response headers; ours also covers reading a streamed body.
      const ctl = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ctl.abort();
      }, timeoutMs);
      const onOuter = () => ctl.abort();
      o.signal?.addEventListener('abort', onOuter, { once: true });
      try {
        const r = await attempt(outgoing, o, ctl.signal, timeoutMs);
        const u = r.usage ?? emptyUsage();
        addUsage(usage, u);
        const content = redactor ? redactor.restore(r.content) : r.content;
        return { content, usage: u, attempts, ms: Date.now() - started, finishReason: r.finishReason };
      } catch (err) {
        let e: LlmError;
        let retry = false;
        if (err instanceof LlmError) {
          e = err;
        } else if (timedOut || (err instanceof APIConnectionError && /timed out/i.test(err.message))) {
          if (byBudget) throw budgetError(undefined);
          e = new LlmError(`LLM request to ${config.baseURL} timed out after ${timeoutMs} ms`, 'timeout');
          retry = true;
        } else if (o.signal?.aborted || err instanceof APIUserAbortError) {
          throw new LlmError('LLM request cancelled', 'aborted');
        } else if (err instanceof APIConnectionError) {
          const cause = (err as { cause?: unknown }).cause;
          const why = cause instanceof Error ? ((cause as { cause?: Error }).cause?.message ?? cause.message) : err.message;
          e = new LlmError(`LLM endpoint ${config.baseURL} unreachable: ${clip(why)}`, 'connection');
          retry = true;
        } else if (err instanceof APIError && err.status !== undefined) {
          const detail = clip(err.message.replace(/^\d+\s*/, ''));
          e = new LlmError(`LLM endpoint ${config.baseURL} answered HTTP ${err.status}${detail ? `: ${detail}` : ''}`, 'http', err.status);
          retry = RETRY_STATUS.has(err.status);
          if (retry) {
            const wait = retryAfterMs(err);
            if (wait !== undefined && wait > deadline - Date.now()) throw budgetError(e);
          }
        } else if (err instanceof SyntaxError) {
          e = new LlmError('LLM answer was not usable: the response body was not valid JSON', 'garbage');
        } else {
          e = new LlmError(`LLM request failed: ${clip(err instanceof Error ? err.message : String(err))}`, 'connection');
        }
        lastError = e;
        if (!retry || attempts >= maxAttempts) break;
        const apiWait = err instanceof APIError ? retryAfterMs(err) : undefined;
        const backoff = apiWait ?? Math.min(MAX_BACKOFF_MS, backoffBase * 2 ** (attempts - 1)) * (0.75 + Math.random() * 0.5);
        const wait = Math.min(backoff, deadline - Date.now());
        if (wait > 0) await sleep(wait, o.signal ?? new AbortController().signal);
      } finally {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onOuter);
      }
    }
    const e = lastError ?? new LlmError('LLM request failed', 'connection');
    const suffix = attempts > 1 ? ` (${attempts} attempts)` : '';
    throw new LlmError(e.message + suffix, e.kind, e.status);
  }

  function budgetError(last: LlmError | undefined): LlmError {
    return new LlmError(`LLM time budget exhausted${last ? ` (last error: ${last.message})` : ''}`, 'budget');
  }

  return {
    config,
    redacting: redactor !== undefined,
    get usage() {
      return { ...usage };
    },
    chat,
  };
}
