import { createConnection, type Socket } from 'node:net';

/*
 * A WebSocket peer that writes whatever bytes a test asks for, after a real upgrade handshake on
 * the daemon's Unix socket: malformed frames cannot be produced through a conforming client.
 */

export interface FrameSpec {
  fin?: boolean;
  /** RSV1..3 as a 3-bit number. */
  rsv?: number;
  opcode: number;
  payload?: Buffer;
  /** Clients must mask; false sends the payload in clear. */
  masked?: boolean;
  /** A length to announce instead of the payload's (the payload bytes are still what is sent). */
  declaredLength?: bigint;
}

export function frameBytes(f: FrameSpec): Buffer {
  const payload = f.payload ?? Buffer.alloc(0);
  const masked = f.masked !== false;
  const len = f.declaredLength ?? BigInt(payload.length);
  const head: number[] = [((f.fin === false ? 0 : 1) << 7) | ((f.rsv ?? 0) << 4) | (f.opcode & 0x0f)];
  const maskBit = masked ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126n) head.push(maskBit | Number(len));
  else if (len < 65536n) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(len));
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(len);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), ext, payload]);
  // A zero masking key leaves the payload as is: still a masked frame by RFC 6455, and cheap for
  // tens of MiB.
  return Buffer.concat([Buffer.from(head), ext, Buffer.alloc(4), payload]);
}

export const textFrame = (text: string) => frameBytes({ opcode: 1, payload: Buffer.from(text) });

export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

export class RawWs {
  private buf = Buffer.alloc(0);
  readonly frames: ServerFrame[] = [];
  /** The status code of the daemon's close frame, if it sent one. */
  closeCode?: number;
  closeReason?: string;
  readonly closed: Promise<void>;
  private waiters: Array<() => void> = [];

  constructor(readonly sock: Socket) {
    this.closed = new Promise((resolve) => sock.once('close', () => resolve()));
    sock.on('error', () => undefined);
    sock.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.parse();
      for (const w of this.waiters.splice(0)) w();
    });
  }

  private parse(): void {
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0] & 0x0f;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (opcode === 8 && payload.length >= 2) {
        this.closeCode = payload.readUInt16BE(0);
        this.closeReason = payload.subarray(2).toString('utf8');
      }
      this.frames.push({ opcode, payload });
    }
  }

  write(bytes: Buffer): void {
    if (!this.sock.destroyed) this.sock.write(bytes);
  }

  /** JSON messages received so far (text frames). */
  messages(): Array<Record<string, any>> {
    return this.frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString('utf8')));
  }

  /** Waits until a JSON message satisfies the predicate, the connection closes, or the time is up. */
  async waitFor(pred: (m: Record<string, any>) => boolean, timeoutMs = 10_000): Promise<Record<string, any> | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.messages().find(pred);
      if (hit || this.sock.destroyed || Date.now() > deadline) return hit;
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs))]);
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** Opens the socket and completes the upgrade with the given headers; rejects on a non-101 answer. */
export function rawConnect(socketPath: string, headers: Record<string, string>): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head.toString('latin1'))?.[1];
      if (status !== '101') {
        sock.destroy();
        return reject(new Error(`upgrade refused: HTTP ${status}`));
      }
      const ws = new RawWs(sock);
      const rest = head.subarray(end + 4);
      if (rest.length) sock.emit('data', rest);
      resolve(ws);
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(
      [
        'GET / HTTP/1.1',
        'Host: localhost',
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      ].join('\r\n') + '\r\n\r\n',
    );
  });
}
