/**
 * A loopback OpenAI-compatible chat-completions server for tests: the real `openai` client talks to it
 * over real HTTP. Each test scripts it with a queue of replies or a function of the request.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The exact bytes the client sent: what redaction tests search. */
  raw: string;
  body: {
    model?: string;
    messages?: Array<{ role: string; content: string }>;
    stream?: boolean;
    [k: string]: unknown;
  };
}

export type FakeReply =
  | string
  | {
      /** A normal answer with this content (streamed when the request asked for a stream). */
      content?: string;
      /** An HTTP error with this status and an OpenAI-shaped error body. */
      status?: number;
      /** A body sent verbatim instead of a completion. */
      raw?: string;
      contentType?: string;
      /** A JSON body sent instead of a completion (e.g. `{ choices: [] }`). */
      json?: unknown;
      /** Wait this long before answering (the client may give up first). */
      delayMs?: number;
      usage?: { prompt_tokens: number; completion_tokens: number; total_tokens?: number };
      headers?: Record<string, string>;
    };

export type FakeHandler = (req: RecordedRequest, index: number) => FakeReply | Promise<FakeReply>;

export interface FakeLlm {
  /** Base URL to give the client, ending in /v1. */
  url: string;
  requests: RecordedRequest[];
  /** Replies used in order when no handler is set. */
  queue: FakeReply[];
  handler?: FakeHandler;
  push(...replies: FakeReply[]): void;
  /** Every request body, concatenated: for "this never left the machine" assertions. */
  allRaw(): string;
  close(): Promise<void>;
}

function defaultUsage(req: RecordedRequest, content: string) {
  const prompt = Math.ceil(req.raw.length / 4);
  const completion = Math.ceil(content.length / 4);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export async function startFakeLlm(handler?: FakeHandler): Promise<FakeLlm> {
  const requests: RecordedRequest[] = [];
  const queue: FakeReply[] = [];
  const open = new Set<ServerResponse>();

  const fake: FakeLlm = {
    url: '',
    requests,
    queue,
    handler,
    push: (...r) => void queue.push(...r),
    allRaw: () => requests.map((r) => r.raw).join('\n'),
    close: () =>
      new Promise((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      void respond(req, res, raw).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `fake-llm crashed: ${String(err)}` } }));
      });
    });
  });

  async function respond(req: IncomingMessage, res: ServerResponse, raw: string) {
    let body: RecordedRequest['body'] = {};
    try {
      body = JSON.parse(raw) as RecordedRequest['body'];
    } catch {
      /* recorded as is */
    }
    const rec: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, body };
    const index = requests.length;
    requests.push(rec);
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      return;
    }
    const script: FakeReply | undefined = fake.handler ? await fake.handler(rec, index) : queue.shift();
    const reply = typeof script === 'string' ? { content: script } : (script ?? { status: 500, raw: JSON.stringify({ error: { message: 'fake-llm: no scripted reply left' } }) });
    if (reply.delayMs) {
      await new Promise((r) => setTimeout(r, reply.delayMs));
      if (res.destroyed) return;
    }
    const headers = reply.headers ?? {};
    if (reply.status && reply.status >= 400) {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...headers });
      res.end(reply.raw ?? JSON.stringify({ error: { message: `fake failure ${reply.status}`, type: 'server_error' } }));
      return;
    }
    if (reply.raw !== undefined) {
      res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'text/html', ...headers });
      res.end(reply.raw);
      return;
    }
    if (reply.json !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(reply.json));
      return;
    }
    const content = reply.content ?? '';
    const usage = reply.usage ?? defaultUsage(rec, content);
    const id = `chatcmpl-fake-${index}`;
    const created = Math.floor(Date.now() / 1000);
    const model = body.model ?? 'fake';
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
      const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      const chunk = (delta: object, finish: string | null) => ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] });
      send(chunk({ role: 'assistant', content: '' }, null));
      // Several pieces, split mid-line, as real servers do.
      for (let i = 0; i < content.length; i += 17) send(chunk({ content: content.slice(i, i + 17) }, null));
      send(chunk({}, 'stop'));
      const wantUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage;
      if (wantUsage) send({ id, object: 'chat.completion.chunk', created, model, choices: [], usage });
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage,
      }),
    );
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return fake;
}
