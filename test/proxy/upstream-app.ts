import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { acceptEcho } from './websocket.js';

/** One block of random bytes the upstream repeats for downloads; tests hash the same repetition. */
export const BLOCK = randomBytes(64 * 1024);

export function expectedDownloadHash(bytes: number): string {
  const hash = createHash('sha256');
  for (let sent = 0; sent < bytes; sent += BLOCK.length) hash.update(BLOCK.subarray(0, Math.min(BLOCK.length, bytes - sent)));
  return hash.digest('hex');
}

export interface SeenRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  headers: IncomingMessage['headers'];
  /** Resolves when the request is closed; true when it ended before the whole body or answer (aborted). */
  closed: Promise<boolean>;
}

export interface UpstreamApp {
  server: http.Server;
  /** `http://127.0.0.1:port` or `unix:/path`. */
  url: string;
  seen: SeenRequest[];
  /** TCP/unix connections the upstream has accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * The application behind hotcert in the tests, a plain node:http server:
 *   GET  /headers        the request's raw headers as JSON, and a few hop-by-hop headers in the answer
 *   POST /upload         streams the body into SHA-256; answers { bytes, sha256 }
 *   GET  /download?bytes=N  N bytes of BLOCK repeated, streamed with backpressure, no Content-Length
 *   POST /early?hold=MS  answers at once, before the body; ends MS after the body ended
 *   GET  /hang           never answers
 *   GET  /drip           headers and one chunk, then nothing more (for client aborts)
 *   Upgrade /ws          WebSocket echo
 */
export async function startUpstream(listenOn: { socketPath?: string } = {}): Promise<UpstreamApp> {
  const seen: SeenRequest[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const closed = new Promise<boolean>((resolve) => res.once('close', () => resolve(!res.writableFinished)));
    seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, headers: req.headers, closed });
    const url = new URL(req.url ?? '/', 'http://upstream.invalid');
    if (url.pathname === '/upload') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') }));
      });
      return;
    }
    if (url.pathname === '/download') {
      const total = Number(url.searchParams.get('bytes') ?? '0');
      let sent = 0;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const pump = () => {
        while (sent < total) {
          const chunk = BLOCK.subarray(0, Math.min(BLOCK.length, total - sent));
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    if (url.pathname === '/early') {
      // Answers before reading the body, and keeps its answer open `hold` ms after the body ended.
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.flushHeaders();
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => {
        res.write(`received ${bytes}\n`);
        setTimeout(() => res.end('done\n'), Number(url.searchParams.get('hold') ?? '0'));
      });
      return;
    }
    if (url.pathname === '/hang') return;
    if (url.pathname === '/drip') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first chunk\n');
      return;
    }
    const body = JSON.stringify({ method: req.method, url: req.url, rawHeaders: req.rawHeaders });
    req.resume();
    res.writeHead(200, [
      'Content-Type', 'application/json',
      'Content-Length', String(Buffer.byteLength(body)),
      'Connection', 'keep-alive, X-Upstream-Hop',
      'X-Upstream-Hop', 'must not reach the client',
      'Proxy-Authenticate', 'Basic realm="upstream"',
      'Set-Cookie', 'a=1',
      'Set-Cookie', 'b=2',
      'X-Upstream', 'yes',
    ]);
    res.end(body);
  });
  server.on('connection', () => connections++);
  server.on('upgrade', (req, socket, head) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, headers: req.headers, closed: new Promise((r) => socket.once('close', () => r(false))) });
    if (req.url === '/ws') acceptEcho(req, socket, head);
    else socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno');
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => (listenOn.socketPath ? server.listen(listenOn.socketPath, resolve) : server.listen(0, '127.0.0.1', resolve)));
  const url = listenOn.socketPath ? `unix:${listenOn.socketPath}` : `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    url,
    seen,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
