import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { connectWs, MessageTooLargeError } from '../../hook/ws-client.js';

/* The hook's own WebSocket client against the real `ws` server the daemon uses. */

const closers: Array<() => void> = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

async function server(onConnection: (ws: import('ws').WebSocket, headers: Record<string, unknown>) => void): Promise<string> {
  const socket = join(mkdtempSync(join(tmpdir(), 'rxws-')), 's.sock');
  const http = createServer();
  const wss = new WebSocketServer({
    server: http,
    verifyClient: (info: { req: import('node:http').IncomingMessage }, cb: (ok: boolean, code?: number) => void) =>
      info.req.headers['x-token'] === 'good' ? cb(true) : cb(false, 401),
  });
  wss.on('connection', (ws, req) => onConnection(ws, req.headers));
  await new Promise<void>((r) => http.listen(socket, r));
  closers.push(() => {
    wss.close();
    http.close();
  });
  return socket;
}

describe('hook/ws-client', () => {
  it('exchanges small, 16-bit and 64-bit length messages, fragments and pings with a ws server', async () => {
    const big = 'x'.repeat(300_000);
    const mid = 'y'.repeat(40_000);
    const socket = await server((ws) => {
      ws.on('message', (d) => {
        const text = d.toString();
        ws.ping('are you there');
        ws.send(`echo:${text.length}`);
        ws.send(mid);
        ws.send(big);
        // A message split into three frames.
        ws.send('frag-', { fin: false });
        ws.send('ment-', { fin: false });
        ws.send('ed', { fin: true });
      });
    });
    const c = await connectWs(socket, { 'x-token': 'good' });
    const got: string[] = [];
    const done = new Promise<void>((r) => c.onMessage((t) => (got.push(t), got.length === 4 && r())));
    c.send('h'.repeat(70_000)); // the client's own 64-bit-length frame
    await done;
    c.close();
    expect(got[0]).toBe('echo:70000');
    expect(got[1]).toBe(mid);
    expect(got[2]).toBe(big);
    expect(got[3]).toBe('frag-ment-ed');
  });

  it('reports a refused handshake with its HTTP status', async () => {
    const socket = await server(() => undefined);
    await expect(connectWs(socket, { 'x-token': 'bad' })).rejects.toMatchObject({ status: 401 });
  });

  it('tells the caller when the server closes the connection', async () => {
    const socket = await server((ws) => ws.close(1000, 'bye'));
    const c = await connectWs(socket, { 'x-token': 'good' });
    const info = await new Promise<{ code?: number; reason?: string }>((r) => c.onClose(r));
    expect(info).toEqual({ code: 1000, reason: 'bye' });
  });

  it('refuses to send a message over its limit, and drops a server that sends one', async () => {
    const socket = await server((ws) => ws.on('message', () => ws.send('z'.repeat(2000))));
    const c = await connectWs(socket, { 'x-token': 'good' }, 5000, 1024);
    expect(() => c.send('y'.repeat(1025))).toThrow(MessageTooLargeError);
    const got: string[] = [];
    c.onMessage((t) => got.push(t));
    const closed = new Promise<{ code?: number; reason?: string }>((r) => c.onClose(r));
    c.send('small');
    const info = await closed;
    expect(got).toEqual([]);
    expect(info.code).toBe(1002);
    expect(info.reason).toMatch(/over .*MiB/);
  });
});
