import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { errorCodes, type ErrorKind } from '../http/errors.js';
import { meta } from '../http/meta.js';

const body = (kind: ErrorKind, details: string) => JSON.stringify({ errors: [{ ...errorCodes[kind], details }], meta });

/** The JSON error envelope, written by the proxy without Hono. `close` for a request whose body is left unread. */
export function sendEnvelope(res: ServerResponse, status: number, kind: ErrorKind, details: string, requestId: string, close = false): void {
  const text = body(kind, details);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=UTF-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Request-Id': requestId,
    // HTTP/2 forbids Connection; its stream ends with the answer anyway.
    ...(close && res.req?.httpVersionMajor !== 2 ? { Connection: 'close' } : {}),
  });
  res.end(text);
}

/** The same envelope as raw HTTP/1.1 on a socket the server handed over for an Upgrade; the socket is closed after it. */
export function writeEnvelope(socket: Duplex, status: number, kind: ErrorKind, details: string, requestId: string): void {
  const text = body(kind, details);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Content-Type: application/json; charset=UTF-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      'Cache-Control: no-store\r\n' +
      `X-Request-Id: ${requestId}\r\n` +
      'Connection: close\r\n\r\n' +
      text,
  );
}
