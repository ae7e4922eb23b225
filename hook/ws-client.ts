import { createConnection, type Socket } from 'node:net';
import { MAX_MESSAGE_BYTES } from '../shared/protocol-constants.js';

/*
 * A minimal RFC 6455 WebSocket client over a Unix socket, for the hook only. The `ws` package is
 * what the daemon serves with and what the CLI's tests talk to, but loading it (and zlib behind
 * permessage-deflate) costs ~30 ms, a third of the hook's whole budget on every commit. The hook
 * needs text frames to one local server: handshake, masked sends, unmasked receives, fragments,
 * ping/pong and close.
 */

/*
 * Masking keys and the handshake nonce come from Math.random, and the server's
 * Sec-WebSocket-Accept is not recomputed: node:crypto alone costs several ms of start-up. Both only
 * defend against intermediaries and caches, and the only peer is our own daemon behind a 0700
 * directory and a token; a non-WebSocket peer is still caught by the 101 check and by validating
 * every message.
 */
function randomBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (Math.random() * 256) | 0;
  return b;
}

export class HandshakeError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HandshakeError';
  }
}

/** Why the connection ended, when the peer said so in a close frame or broke the protocol. */
export interface CloseInfo {
  code?: number;
  reason?: string;
}

export interface WsLite {
  /** Throws when the message is over MAX_MESSAGE_BYTES: the daemon would refuse it anyway. */
  send(text: string): void;
  close(): void;
  onMessage(fn: (text: string) => void): void;
  onClose(fn: (info: CloseInfo) => void): void;
}

export class MessageTooLargeError extends Error {
  override name = 'MessageTooLargeError';
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

function frame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = 0x80 | len;
  else if (len < 65536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  const body = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

export function connectWs(
  socketPath: string,
  headers: Record<string, string>,
  timeoutMs = 5000,
  maxMessageBytes = MAX_MESSAGE_BYTES,
): Promise<WsLite> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const sock: Socket = createConnection(socketPath);
    let buf: Buffer = Buffer.alloc(0);
    let open = false;
    let fragments: Buffer[] = [];
    let fragmentBytes = 0;
    let closeInfo: CloseInfo = {};
    let onMessage: (t: string) => void = () => undefined;
    let onClose: (info: CloseInfo) => void = () => undefined;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new HandshakeError(`no WebSocket handshake within ${timeoutMs} ms`));
    }, timeoutMs);

    const api: WsLite = {
      send: (text) => {
        const payload = Buffer.from(text);
        if (payload.length > maxMessageBytes) {
          throw new MessageTooLargeError(`the request is ${mib(payload.length)}, over the ${mib(maxMessageBytes)} the daemon accepts in one message`);
        }
        sock.write(frame(0x1, payload));
      },
      close: () => {
        if (!sock.destroyed) sock.end(frame(0x8, Buffer.from([0x03, 0xe8])));
        sock.destroy();
      },
      onMessage: (fn) => (onMessage = fn),
      onClose: (fn) => (onClose = fn),
    };

    // A peer that breaks the protocol (or announces more than we take) ends the connection.
    const protocolError = (reason: string) => {
      closeInfo = { code: 1002, reason };
      buf = Buffer.alloc(0);
      fragments = [];
      sock.destroy();
    };

    const readFrames = () => {
      while (!sock.destroyed) {
        if (buf.length < 2) return;
        const fin = (buf[0] & 0x80) !== 0;
        const opcode = buf[0] & 0x0f;
        const masked = (buf[1] & 0x80) !== 0;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          const big = buf.readBigUInt64BE(2);
          if (big > BigInt(maxMessageBytes)) return protocolError(`the daemon announced a ${big} byte frame`);
          len = Number(big);
          off = 10;
        }
        if (len > maxMessageBytes || fragmentBytes + len > maxMessageBytes) {
          return protocolError(`the daemon sent a message over ${mib(maxMessageBytes)}`);
        }
        const maskKey = masked ? buf.subarray(off, off + 4) : undefined;
        if (masked) off += 4;
        if (buf.length < off + len) return;
        const payload = Buffer.from(buf.subarray(off, off + len));
        buf = buf.subarray(off + len);
        if (maskKey) for (let i = 0; i < payload.length; i++) payload[i] ^= maskKey[i & 3];
        if (opcode === 0x8) {
          if (payload.length >= 2) closeInfo = { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') };
          sock.destroy();
          return;
        }
        if (opcode === 0x9) {
          sock.write(frame(0xa, payload));
          continue;
        }
        if (opcode === 0xa) continue;
        fragments.push(payload);
        fragmentBytes += payload.length;
        if (fin) {
          const text = Buffer.concat(fragments).toString('utf8');
          fragments = [];
          fragmentBytes = 0;
          onMessage(text);
        }
      }
    };

    sock.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (!open) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          // Whatever answers is not our daemon if its response head does not end soon.
          if (buf.length > 16 * 1024) {
            clearTimeout(timer);
            sock.destroy();
            reject(new HandshakeError('the daemon sent an over-long handshake response'));
          }
          return;
        }
        const head = buf.subarray(0, end).toString('latin1').split('\r\n');
        buf = buf.subarray(end + 4);
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1]);
        clearTimeout(timer);
        if (status !== 101) {
          sock.destroy();
          return reject(new HandshakeError(`daemon refused the connection (HTTP ${status || '?'})`, status));
        }
        if (!head.some((h) => /^upgrade:\s*websocket/i.test(h))) {
          sock.destroy();
          return reject(new HandshakeError('daemon sent a bad WebSocket handshake'));
        }
        open = true;
        resolve(api);
      }
      readFrames();
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      if (!open) reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (open) onClose(closeInfo);
    });
    const lines = [
      'GET / HTTP/1.1',
      'Host: localhost',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`,
      'Sec-WebSocket-Version: 13',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    sock.write(lines.join('\r\n') + '\r\n\r\n');
  });
}
