import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * The proxy baseline: the minimal node:https → node:http pass-through (keep-alive pool, streaming both ways,
 * headers copied as they are), with the same certificate as hotcert. Its own process, like hotcert.
 */
const config = JSON.parse(readFileSync(process.env.PASS_CONFIG ?? '', 'utf8')) as { keyPem: string; certPem: string; upstreamPort: number };
const agent = new http.Agent({ keepAlive: true });
const server = https.createServer({ minVersion: 'TLSv1.2', key: config.keyPem, cert: config.certPem, keepAliveTimeout: 5_000 }, (req, res) => {
  const upstream = http.request({ host: '127.0.0.1', port: config.upstreamPort, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  res.once('close', () => !res.writableFinished && upstream.destroy());
  req.pipe(upstream);
});
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ event: 'listening', port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
