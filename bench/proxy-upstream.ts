import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The application behind the proxy in the benchmark: plain node:http, as its own process.
 * GET /1k and /64k answer fixed bodies; GET /stream?bytes=N streams N bytes with backpressure.
 */
const small = Buffer.alloc(1024, 'a');
const large = Buffer.alloc(64 * 1024, 'b');
const chunk = Buffer.alloc(64 * 1024, 'c');

function stream(res: http.ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  let left = total;
  const pump = () => {
    while (left > 0) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      if (left === 0) return void res.end(piece);
      if (!res.write(piece)) return void res.once('drain', pump);
    }
  };
  res.once('close', () => (left = 0));
  pump();
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/1k' || url === '/64k') {
    const body = url === '/1k' ? small : large;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
    return;
  }
  const match = /^\/stream\?bytes=(\d+)$/.exec(url);
  if (match) return stream(res, Number(match[1]));
  res.writeHead(404, { 'content-length': 0 });
  res.end();
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ event: 'listening', port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
