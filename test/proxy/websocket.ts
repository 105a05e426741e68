import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

/** Just enough RFC 6455 for the proxy tests: the handshake, single-frame text/binary/close messages. */

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const acceptFor = (key: string) => createHash('sha1').update(key + GUID).digest('base64');

export interface Frame {
  opcode: number;
  payload: Buffer;
}

export function encodeFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0));
  header[0] = 0x80 | opcode;
  header[1] = (masked ? 0x80 : 0) | (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(length, 2);
  if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(length), 2);
  if (!masked) return Buffer.concat([header, payload]);
  const mask = randomBytes(4);
  mask.copy(header, 2 + lengthBytes);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
  return Buffer.concat([header, body]);
}

/** Feeds bytes in, calls back once per complete frame (unmasking client frames). */
export function frameReader(onFrame: (frame: Frame) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (buffered.length < 2) return;
      const masked = (buffered[1]! & 0x80) !== 0;
      let length = buffered[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffered.length < 10) return;
        length = Number(buffered.readBigUInt64BE(2));
        offset = 10;
      }
      const maskOffset = offset;
      if (masked) offset += 4;
      if (buffered.length < offset + length) return;
      const payload = Buffer.from(buffered.subarray(offset, offset + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= buffered[maskOffset + (i % 4)]!;
      const opcode = buffered[0]! & 0x0f;
      buffered = buffered.subarray(offset + length);
      onFrame({ opcode, payload });
    }
  };
}

/** The upstream side: answers the handshake and echoes every data frame; answers a close with a close. */
export function acceptEcho(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n` +
      `X-Seen-Request-Id: ${String(req.headers['x-request-id'])}\r\n\r\n`,
  );
  const read = frameReader(({ opcode, payload }) => {
    if (opcode === 8) {
      socket.end(encodeFrame(8, payload, false));
      return;
    }
    socket.write(encodeFrame(opcode, payload, false));
  });
  socket.on('data', read);
  socket.on('error', () => socket.destroy());
  if (head.length > 0) read(head);
}

export interface WebSocketClient {
  socket: tls.TLSSocket;
  /** The 101 response head, lower-cased header names. */
  headers: Record<string, string>;
  /** Sends a text message and resolves with the next message the server sends back. */
  echo(text: string): Promise<string>;
  close(): Promise<void>;
}

/** A WebSocket client over real TLS to 127.0.0.1:port. Rejects with the status line when the answer is not 101. */
export function connectWebSocket(port: number, path: string, headers: Record<string, string> = {}): Promise<WebSocketClient> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    const key = randomBytes(16).toString('base64');
    const waiting: ((frame: Frame) => void)[] = [];
    const read = frameReader((frame) => waiting.shift()?.(frame));
    let head = Buffer.alloc(0);
    let open = false;
    let refused = false;
    socket.once('secureConnect', () => {
      const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      );
    });
    socket.on('error', (error) => (open ? undefined : reject(error)));
    socket.on('end', () => !open && reject(new Error(`${refused ? 'no upgrade' : 'connection closed before 101'}: ${head.toString('utf8')}`)));
    // A refusal with a length is complete once its body is here (a keep-alive server would not close).
    const answeredInFull = () => {
      const end = head.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(head.subarray(0, end).toString('latin1'))?.[1];
      if (length === undefined || head.length < end + 4 + Number(length)) return;
      socket.destroy();
      reject(new Error(`no upgrade: ${head.toString('utf8')}`));
    };
    socket.on('data', (chunk: Buffer) => {
      if (open) return read(chunk);
      head = Buffer.concat([head, chunk]);
      if (refused) return answeredInFull();
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      if (!/^HTTP\/1\.1 101 /.test(lines[0]!)) {
        // Not upgraded: the rest is a plain answer the server ends with the connection; report all of it.
        refused = true;
        return answeredInFull();
      }
      const parsed: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      if (parsed['sec-websocket-accept'] !== acceptFor(key)) {
        socket.destroy();
        reject(new Error('wrong Sec-WebSocket-Accept'));
        return;
      }
      open = true;
      const rest = head.subarray(end + 4);
      if (rest.length > 0) read(rest);
      resolve({
        socket,
        headers: parsed,
        echo: (text) =>
          new Promise((done, fail) => {
            if (socket.destroyed) return fail(new Error('websocket is closed'));
            const onClose = () => fail(new Error('websocket closed while waiting for an echo'));
            socket.once('close', onClose);
            waiting.push((frame) => {
              socket.off('close', onClose);
              done(frame.payload.toString('utf8'));
            });
            socket.write(encodeFrame(1, Buffer.from(text, 'utf8'), true));
          }),
        close: () =>
          new Promise((done) => {
            if (socket.destroyed) return done();
            socket.once('close', () => done());
            waiting.push(() => socket.end());
            socket.write(encodeFrame(8, Buffer.from([0x03, 0xe8]), true));
          }),
      });
    });
  });
}
