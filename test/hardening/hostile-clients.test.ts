import type { ClientRequest } from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { bearer, peerCertificate } from '../helpers/https-client.js';
import { createChain } from '../helpers/pki.js';
import { useAdminServer } from '../helpers/start-server.js';

describe('hostile clients', () => {
  const ctx = useAdminServer({ start: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 } });

  it('cuts off a client that sends its headers one byte at a time', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: ctx.server.port, rejectUnauthorized: false });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const text = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(100);
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || i >= text.length) return clearInterval(timer);
      socket.write(text[i++]!);
    }, 100);
    await closed;
    clearInterval(timer);
    // Cut off by the server (408) while the headers were still arriving, not after they were complete.
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(i).toBeLessThan(text.length);
  });

  it('cuts off a client that trickles its body', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: ctx.server.port, rejectUnauthorized: false });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    let answer = '';
    let sent = 0;
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.write(`POST /v1/certificates/external HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ctx.token}\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\n`);
    const timer = setInterval(() => !socket.destroyed && socket.write('A') && sent++, 200);
    await closed;
    clearInterval(timer);
    // The request timeout answered 408 and closed, long before the 5,000-byte body could have arrived.
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(sent).toBeLessThan(5000);
    expect((await ctx.server.request('GET', '/healthz')).status).toBe(200);
  });

  it('refuses more than 4 concurrent uploads from one client with 429', async () => {
    const chain = await createChain();
    const open: ClientRequest[] = [];
    const statuses: Promise<number>[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        new Promise((resolve, reject) => {
          const req = https.request(
            { host: '127.0.0.1', port: ctx.server.port, method: 'POST', path: '/v1/certificates/external', rejectUnauthorized: false, agent: false,
              headers: { ...bearer(ctx.token), 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(chain.bundle)) } },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
          req.write(chain.bundle.slice(0, 10));
          open.push(req);
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Whichever reached the server last (a loaded machine may reorder handshakes) is refused; nothing else answers yet.
    const refused = await Promise.race(statuses.map((status, index) => status.then((value) => ({ index, value }))));
    expect(refused.value).toBe(429);
    open.forEach((req, index) => index !== refused.index && req.end(chain.bundle.slice(10)));
    const others = await Promise.all(statuses.filter((_, index) => index !== refused.index));
    expect(others).toEqual([201, 201, 201, 201]);
  });

  it('enforces MAX_UPLOAD_BYTES while streaming a chunked body, before it has all arrived', async () => {
    const before = await peerCertificate(ctx.server.port);
    const result = await new Promise<{ status: number; sentBytes: number }>((resolve, reject) => {
      let sent = 0;
      let done = false;
      const req = https.request(
        { host: '127.0.0.1', port: ctx.server.port, method: 'POST', path: '/v1/certificates/external', rejectUnauthorized: false, agent: false,
          headers: { ...bearer(ctx.token), 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' } },
        (res) => {
          done = true;
          res.resume();
          resolve({ status: res.statusCode ?? 0, sentBytes: sent });
        },
      );
      req.on('error', (error) => (done ? undefined : reject(error)));
      const chunk = Buffer.alloc(64 * 1024, 'A');
      const pump = () => {
        // At most 8 MiB, far past the 1 MiB limit; stop as soon as the server answered.
        if (done || sent >= 8 * 1024 * 1024) return req.end();
        sent += chunk.length;
        req.write(chunk, () => setImmediate(pump));
      };
      pump();
    });
    expect(result.status).toBe(413);
    expect(result.sentBytes).toBeLessThan(8 * 1024 * 1024);
    expect((await peerCertificate(ctx.server.port)).fingerprint).toBe(before.fingerprint);
  });

  it('survives garbage that is not TLS, and a TLS client that says nothing', async () => {
    const net = await import('node:net');
    const raw = net.connect(ctx.server.port, '127.0.0.1');
    raw.on('error', () => undefined);
    raw.write('GET / HTTP/1.1\r\n\r\n' + '\x00'.repeat(1000));
    await new Promise((resolve) => raw.once('close', resolve));
    const quiet = tls.connect({ host: '127.0.0.1', port: ctx.server.port, rejectUnauthorized: false });
    quiet.on('error', () => undefined);
    await new Promise((resolve) => quiet.once('secureConnect', resolve));
    expect((await ctx.server.request('GET', '/healthz')).status).toBe(200);
    quiet.destroy();
  });
});
