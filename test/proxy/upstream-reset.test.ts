import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/https-client.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

/** An upstream that promises 100,000 bytes, sends 10,000, then drops the connection. */
function startBreakingUpstream(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/breaks') {
      res.end('fine');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': 100_000 });
    res.write(Buffer.alloc(10_000, 'x'), () => setTimeout(() => res.socket?.destroy(), 50));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('an upstream that breaks off in the middle of its answer', () => {
  let upstream: http.Server;
  let server: TestServer;

  beforeAll(async () => {
    upstream = await startBreakingUpstream();
    server = await startTestServer({ env: { UPSTREAM: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } });
  });
  afterAll(async () => {
    await server?.close();
    upstream?.closeAllConnections();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it('cuts the client response (never completes it), logs reason reset, and keeps serving', async () => {
    const outcome = await new Promise<{ status: number; bytes: number; complete: boolean }>((resolve) => {
      const req = https.get({ host: '127.0.0.1', port: server.port, path: '/breaks', rejectUnauthorized: false, agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.once('close', () => resolve({ status: res.statusCode ?? 0, bytes, complete: res.complete }));
        res.on('error', () => undefined);
      });
      req.on('error', () => undefined);
    });
    expect(outcome.status).toBe(200);
    expect(outcome.complete).toBe(false);
    expect(outcome.bytes).toBeLessThan(100_000);
    await server.waitForLog((entry) => entry.event === 'proxy.upstream_error' && entry.reason === 'reset');
    expect((await request(server.port, 'GET', '/fine')).text).toBe('fine');
  });
});
