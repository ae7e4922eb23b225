import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLlmClient, LlmError } from '../../daemon/llm/client.js';
import { resolveLlmConfig, type LlmConfigInput } from '../../daemon/llm/config.js';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm.js';

let fake: FakeLlm;
beforeEach(async () => {
  fake = await startFakeLlm();
});
afterEach(async () => {
  await fake.close();
});

function client(extra: Partial<LlmConfigInput> = {}) {
  const cfg = resolveLlmConfig({ baseURL: fake.url, model: 'fake-model', ...extra }, { OPENAI_API_KEY: 'test-key' })!;
  return createLlmClient(cfg, { backoffBaseMs: 20 });
}

async function llmError(p: Promise<unknown>): Promise<LlmError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(LlmError);
    return err as LlmError;
  }
  throw new Error('expected an LlmError');
}

const hi = [{ role: 'user' as const, content: 'hi' }];

describe('LLM client against a loopback OpenAI-compatible server', () => {
  it('answers without streaming and records usage', async () => {
    fake.push({ content: 'hello', usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });
    fake.push({ content: 'again', usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    const c = client({ temperature: 0.1, maxTokens: 99, topP: 0.9 });
    const r = await c.chat(hi);
    expect(r).toMatchObject({ content: 'hello', usage: { prompt: 7, completion: 3, total: 10 }, attempts: 1 });
    await c.chat(hi);
    expect(c.usage).toEqual({ prompt: 8, completion: 4, total: 12 });
    expect(fake.requests[0].body).toMatchObject({ model: 'fake-model', temperature: 0.1, max_tokens: 99, top_p: 0.9 });
    expect(fake.requests[0].headers.authorization).toBe('Bearer test-key');
  });

  it('streams and still records usage', async () => {
    const long = 'line one\n```python\nprint("x")\n```\nTITLE: t\nLESSON: l';
    fake.push({ content: long, usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 } });
    const r = await client({ stream: true }).chat(hi);
    expect(r.content).toBe(long);
    expect(r.usage.total).toBe(11);
    expect(fake.requests[0].body.stream).toBe(true);
  });

  it('retries 429 and 5xx, then succeeds', async () => {
    fake.push({ status: 429, headers: { 'retry-after-ms': '10' } }, { status: 503 }, 'ok');
    const r = await client({ maxRetries: 2 }).chat(hi);
    expect(r).toMatchObject({ content: 'ok', attempts: 3 });
    expect(fake.requests).toHaveLength(3);
  });

  it('gives up on persistent 500s with a one-line message', async () => {
    fake.push({ status: 500 }, { status: 500 }, { status: 500 });
    const e = await llmError(client({ maxRetries: 2 }).chat(hi));
    expect(e.kind).toBe('http');
    expect(e.status).toBe(500);
    expect(e.message).toMatch(/answered HTTP 500.*\(3 attempts\)$/);
    expect(e.message).not.toContain('\n');
  });

  it('does not retry a 400', async () => {
    fake.push({ status: 400 }, 'never');
    const e = await llmError(client({ maxRetries: 2 }).chat(hi));
    expect(e.status).toBe(400);
    expect(fake.requests).toHaveLength(1);
  });

  it('times out per request, streaming or not', async () => {
    fake.handler = () => ({ content: 'late', delayMs: 2_000 });
    const t0 = Date.now();
    const e = await llmError(client({ timeoutMs: 200, maxRetries: 1 }).chat(hi));
    expect(e.kind).toBe('timeout');
    expect(e.message).toMatch(/timed out after 200 ms \(2 attempts\)/);
    expect(Date.now() - t0).toBeLessThan(1_500);
    const s = await llmError(client({ timeoutMs: 200, maxRetries: 0, stream: true }).chat(hi));
    expect(s.kind).toBe('timeout');
  });

  it('stops at the deadline even with retries left', async () => {
    fake.handler = () => ({ content: 'late', delayMs: 2_000 });
    const t0 = Date.now();
    const e = await llmError(client({ timeoutMs: 10_000, maxRetries: 5 }).chat(hi, { deadline: Date.now() + 300 }));
    expect(e.kind).toBe('budget');
    expect(Date.now() - t0).toBeLessThan(1_500);
  });

  it('reports an unreachable endpoint', async () => {
    const url = fake.url;
    await fake.close();
    const cfg = resolveLlmConfig({ baseURL: url, model: 'm', maxRetries: 1 }, {})!;
    const e = await llmError(createLlmClient(cfg, { backoffBaseMs: 10 }).chat(hi));
    expect(e.kind).toBe('connection');
    expect(e.message).toMatch(/unreachable: .*ECONNREFUSED.*\(2 attempts\)/);
    fake = await startFakeLlm();
  });

  it.each([
    [{ raw: '<html>502 Bad Gateway</html>', contentType: 'text/html' }, /not JSON/],
    [{ raw: '{"choices": [', contentType: 'application/json' }, /not valid JSON/],
    [{ json: { choices: [] } }, /no choices/],
    [{ json: { object: 'chat.completion' } }, /no choices/],
    [{ content: '   ' }, /empty content/],
  ])('turns garbage %j into a clear LlmError', async (reply, msg) => {
    fake.push(reply);
    const e = await llmError(client({ maxRetries: 0 }).chat(hi));
    expect(e.kind).toBe('garbage');
    expect(e.message).toMatch(msg);
  });

  it('turns a garbage event stream into a clear LlmError', async () => {
    fake.push({ raw: 'data: {not json\n\n', contentType: 'text/event-stream' });
    const e = await llmError(client({ maxRetries: 0, stream: true }).chat(hi));
    expect(e.message).toMatch(/event stream carried data that is not JSON/);
    fake.push({ raw: 'data: [DONE]\n\n', contentType: 'text/event-stream' });
    const f = await llmError(client({ maxRetries: 0, stream: true }).chat(hi));
    expect(f.message).toMatch(/no choices/);
  });

  it('redacts outgoing messages and restores the answer', async () => {
    fake.handler = (req) => ({ content: `echo: ${req.body.messages?.[0].content}` });
    const c = client({ redact: 'on' });
    const r = await c.chat([{ role: 'user', content: 'KEY = "sk-live-0123456789abcdefABCDEF"' }]);
    expect(fake.allRaw()).not.toContain('sk-live-0123456789abcdefABCDEF');
    expect(fake.allRaw()).toContain('__REFLEXGEN_SECRET_1__');
    expect(r.content).toBe('echo: KEY = "sk-live-0123456789abcdefABCDEF"');
    expect(c.redacting).toBe(true);
  });
});
