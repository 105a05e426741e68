import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { upstreamRequestHeaders } from '../../src/proxy/forwarded-headers.js';
import { isHotcertPath } from '../../src/proxy/own-paths.js';
import { freePort } from '../helpers/spawn-server.js';
import { request } from '../helpers/https-client.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { expectedDownloadHash, startUpstream, type UpstreamApp } from './upstream-app.js';
import { connectWebSocket } from './websocket.js';

const API_KEY = 'proxy-test-metrics-key';
const MAX_BODY = 8 * 1024 * 1024;
const TIMEOUT_MS = 3000;

/** Raw header pairs as [lower-case name, value] for assertions. */
const pairs = (raw: string[]) => raw.flatMap((name, i) => (i % 2 === 0 ? [[name.toLowerCase(), raw[i + 1]!] as const] : []));
const valuesOf = (raw: string[], name: string) => pairs(raw).filter(([n]) => n === name).map(([, v]) => v);

/** A streamed HTTPS request through hotcert: the body in pieces (chunked unless a length is given), the answer hashed. */
function streamThrough(
  port: number,
  options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer[]; agent?: https.Agent | false },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: number; sha256: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method: options.method, path: options.path, headers: options.headers, rejectUnauthorized: false, agent: options.agent ?? false },
      (res) => {
        const hash = createHash('sha256');
        let bytes = 0;
        let text = '';
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          hash.update(chunk);
          if (text.length < 4096) text += chunk.toString('utf8');
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, sha256: hash.digest('hex'), text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    (async () => {
      for (const piece of options.body ?? []) {
        if (!req.write(piece)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  });
}

const metricValue = async (server: TestServer, name: string, labels: Record<string, string>) => {
  const res = await server.request('GET', '/v1/metrics', { headers: { Authorization: `ApiKey ${API_KEY}` } });
  const data = (res.json.metrics[name]?.data ?? []) as { labels: Record<string, string>; value: number }[];
  return data.find((entry) => Object.entries(labels).every(([k, v]) => String(entry.labels[k]) === v))?.value ?? 0;
};

const logLines = (server: TestServer) => server.logs.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('which paths hotcert keeps', () => {
  it.each([
    ['/healthz', true], ['/healthz?x=1', true], ['/v1/users/login', true], ['/v1/certificates/external/history', true],
    ['/v1/health', true], ['/v1/metrics?format=prometheus', true], ['/v1/audit', true], ['/v1/openapi.json', true], ['/admin/', true],
    ['/v1/%75sers/login', true], ['/app/../v1/users', true], ['/v1/users/%2e%2e/x', true], ['http://other.example/v1/health', true],
    ['//v1/users', false], ['/app/%2Fv1', false],
    ['/', false], ['/app', false], ['/v1/usersx', false], ['/v1/orders', false], ['/healthzz', false], ['/v1/users/../../app', false], ['*', false],
  ])('%s → hotcert: %s', (target, own) => {
    expect(isHotcertPath(target)).toBe(own);
  });
});

describe('headers for the upstream', () => {
  const incoming = (rawHeaders: string[], remoteAddress: string, httpVersionMajor = 1) => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < rawHeaders.length; i += 2) headers[rawHeaders[i]!.toLowerCase()] = rawHeaders[i + 1]!;
    return { rawHeaders, headers, httpVersionMajor, socket: { remoteAddress } } as unknown as IncomingMessage;
  };

  it('quotes an IPv6 client in Forwarded and escapes the host', () => {
    const out = pairs(upstreamRequestHeaders(incoming(['Host', 'a"b.example'], '::1'), { requestId: 'r1' }));
    expect(out).toContainEqual(['forwarded', 'for="[::1]";host="a\\"b.example";proto=https']);
    expect(out).toContainEqual(['x-forwarded-for', '::1']);
  });

  it('drops HTTP/2 pseudo-headers and takes Host from :authority', () => {
    const out = pairs(upstreamRequestHeaders(incoming([':method', 'GET', ':path', '/x', ':authority', 'h2.example', ':scheme', 'https', 'accept', '*/*'], '127.0.0.1', 2), { requestId: 'r2' }));
    expect(out.filter(([name]) => name.startsWith(':'))).toEqual([]);
    expect(out).toContainEqual(['host', 'h2.example']);
    expect(out).toContainEqual(['x-forwarded-host', 'h2.example']);
    expect(out).toContainEqual(['accept', '*/*']);
  });
});

describe('reverse proxy mode (UPSTREAM)', () => {
  let upstream: UpstreamApp;
  let server: TestServer;

  beforeAll(async () => {
    upstream = await startUpstream();
    server = await startTestServer({
      env: { UPSTREAM: upstream.url, UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS), MAX_PROXY_BODY_BYTES: String(MAX_BODY), API_KEY },
    });
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  it('forwards with X-Forwarded-*/Forwarded, keeps Host, drops hop-by-hop headers both ways, and passes X-Request-Id', async () => {
    const res = await request(server.port, 'GET', '/app/headers?q=1', {
      headers: {
        Host: 'app.example:8443',
        'X-Forwarded-For': '203.0.113.7',
        Forwarded: 'for=203.0.113.7',
        Connection: 'keep-alive, X-Client-Hop',
        'X-Client-Hop': 'must not reach the upstream',
        'Proxy-Authorization': 'Basic cHJveHk6c2VjcmV0',
        TE: 'trailers',
        'X-Request-Id': 'req-abc-123',
        Authorization: 'Bearer app-token-value',
        Cookie: 'sid=cookie-value',
      },
    });
    expect(res.status).toBe(200);
    const seen = res.json.rawHeaders as string[];
    expect(res.json.url).toBe('/app/headers?q=1');
    expect(valuesOf(seen, 'host')).toEqual(['app.example:8443']);
    expect(valuesOf(seen, 'x-forwarded-for')).toEqual(['203.0.113.7, 127.0.0.1']);
    expect(valuesOf(seen, 'x-forwarded-proto')).toEqual(['https']);
    expect(valuesOf(seen, 'x-forwarded-host')).toEqual(['app.example:8443']);
    expect(valuesOf(seen, 'forwarded')).toEqual(['for=203.0.113.7, for=127.0.0.1;host="app.example:8443";proto=https']);
    expect(valuesOf(seen, 'x-request-id')).toEqual(['req-abc-123']);
    expect(valuesOf(seen, 'authorization')).toEqual(['Bearer app-token-value']);
    expect(valuesOf(seen, 'cookie')).toEqual(['sid=cookie-value']);
    for (const hop of ['x-client-hop', 'proxy-authorization', 'te']) expect(valuesOf(seen, hop)).toEqual([]);
    expect(valuesOf(seen, 'connection')).toEqual(['keep-alive']); // the pool's own, not the client's

    expect(res.headers['x-request-id']).toBe('req-abc-123');
    expect(res.headers['x-upstream']).toBe('yes');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.headers['x-upstream-hop']).toBeUndefined();
    expect(res.headers['proxy-authenticate']).toBeUndefined();

    const line = logLines(server).find((entry) => entry.request_id === 'req-abc-123');
    expect(line).toMatchObject({ event: 'http.request', route: 'proxy', method: 'GET', status: 200 });
    const all = server.logs.join('\n');
    for (const secret of ['app-token-value', 'cookie-value', 'cHJveHk6c2VjcmV0']) expect(all).not.toContain(secret);
    expect(await metricValue(server, 'hotcert_http_requests_total', { route: 'proxy', status: '200' })).toBeGreaterThanOrEqual(1);
  });

  it('generates a request id when the client sends none, the same on both sides', async () => {
    const res = await request(server.port, 'GET', '/app/headers');
    const id = res.headers['x-request-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(valuesOf(res.json.rawHeaders, 'x-request-id')).toEqual([id]);
    expect(logLines(server).find((entry) => entry.request_id === id)).toMatchObject({ route: 'proxy', status: 200 });
  });

  it("keeps hotcert's own routes for hotcert; everything else reaches the upstream", async () => {
    const before = upstream.seen.length;
    const healthz = await request(server.port, 'GET', '/healthz');
    expect(healthz.json).toEqual({ status: 'ok' });
    const login = await request(server.port, 'POST', '/v1/users/login');
    expect(login.status).toBe(401);
    expect(login.json.errors[0].code).toBe(1005);
    const encoded = await request(server.port, 'POST', '/v1/%75sers/login');
    expect(encoded.json.errors[0].code).toBe(1005);
    const openapi = await request(server.port, 'GET', '/v1/openapi.json');
    expect(openapi.status).toBe(200);
    expect(openapi.json.openapi).toMatch(/^3\./);
    expect((await request(server.port, 'GET', '/v1/docs')).text).not.toContain('rawHeaders');
    expect((await request(server.port, 'GET', '/admin')).text).not.toContain('rawHeaders');
    expect(upstream.seen.length).toBe(before);

    const other = await request(server.port, 'GET', '/v1/usersx');
    expect(other.json.url).toBe('/v1/usersx');
    expect(upstream.seen.length).toBe(before + 1);
  });

  it('streams a multi-MB upload (declared length and chunked) and download byte-exact', async () => {
    const pieces = Array.from({ length: 6 }, () => randomBytes(1024 * 1024));
    const expected = createHash('sha256').update(Buffer.concat(pieces)).digest('hex');
    const declared = await streamThrough(server.port, { method: 'POST', path: '/upload', headers: { 'Content-Length': String(6 * 1024 * 1024) }, body: pieces });
    expect(declared.status).toBe(200);
    expect(JSON.parse(declared.text)).toEqual({ bytes: 6 * 1024 * 1024, sha256: expected });
    const chunked = await streamThrough(server.port, { method: 'POST', path: '/upload', body: pieces });
    expect(JSON.parse(chunked.text)).toEqual({ bytes: 6 * 1024 * 1024, sha256: expected });
    expect(valuesOf(upstream.seen.at(-1)!.rawHeaders, 'transfer-encoding')).toEqual(['chunked']);

    const bytes = 20 * 1024 * 1024 + 123;
    const download = await streamThrough(server.port, { method: 'GET', path: `/download?bytes=${bytes}` });
    expect(download.status).toBe(200);
    expect(download.bytes).toBe(bytes);
    expect(download.sha256).toBe(expectedDownloadHash(bytes));
  });

  it('answers 413 for a body over MAX_PROXY_BODY_BYTES: declared up front, chunked while streaming (upstream aborted)', async () => {
    const before = upstream.seen.length;
    // Only the headers are sent: the length alone is refused, before any body is read.
    const declared = await streamThrough(server.port, { method: 'POST', path: '/upload', headers: { 'Content-Length': String(MAX_BODY + 1) } });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.text).errors[0]).toMatchObject({ code: 1009 });
    expect(upstream.seen.length).toBe(before);

    const chunked = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/upload', rejectUnauthorized: false, agent: false }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      let written = 0;
      const piece = randomBytes(512 * 1024);
      const more = () => {
        // Bounded: at most twice the limit, then stop writing and wait for the answer.
        while (written < 2 * MAX_BODY) {
          written += piece.length;
          if (!req.write(piece)) return void req.once('drain', more);
        }
      };
      req.once('response', () => req.removeAllListeners('drain'));
      more();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.text).errors[0].details).toMatch(/MAX_PROXY_BODY_BYTES/);
    expect(upstream.seen.length).toBe(before + 1);
    expect(await upstream.seen.at(-1)!.closed).toBe(true);
  });

  it('answers 504 in the envelope when the upstream does not answer within UPSTREAM_TIMEOUT_MS, and aborts that request', async () => {
    const res = await request(server.port, 'GET', '/hang', { headers: { 'X-Request-Id': 'hang-1' } });
    expect(res.status).toBe(504);
    expect(res.json.errors[0]).toMatchObject({ code: 1011 });
    expect(res.json.errors[0].details).toMatch(/UPSTREAM_TIMEOUT_MS/);
    expect(res.json.meta).toMatchObject({ api_status: 'stable' });
    expect(res.headers['x-request-id']).toBe('hang-1');
    expect(await upstream.seen.at(-1)!.closed).toBe(true);
    expect(logLines(server).find((entry) => entry.event === 'proxy.upstream_error' && entry.request_id === 'hang-1')).toMatchObject({ reason: 'timeout' });
    expect(await metricValue(server, 'hotcert_proxy_upstream_errors_total', { reason: 'timeout' })).toBe(1);
    expect((await request(server.port, 'GET', '/app/after-timeout')).status).toBe(200);
  });

  it('does not time out an answer that began before the request body was all sent', async () => {
    // The second half of the body is sent only once the answer's headers arrived.
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: server.port, method: 'POST', path: `/early?hold=${TIMEOUT_MS + 500}`, rejectUnauthorized: false, agent: false },
        (r) => {
          req.end(Buffer.alloc(1000, 2));
          let text = '';
          r.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
          r.on('error', reject);
        },
      );
      req.on('error', reject);
      req.write(Buffer.alloc(1000, 1));
    });
    expect(res.status).toBe(200);
    expect(res.text).toBe('received 2000\ndone\n');
  });

  it('aborts the upstream request when the client disconnects mid-download or mid-upload', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: server.port, path: '/drip', rejectUnauthorized: false, agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.once('error', reject);
      req.end();
    });
    const drip = [...upstream.seen].reverse().find((seen) => seen.url === '/drip')!;
    expect(await drip.closed).toBe(true);

    const before = upstream.seen.length;
    const req = https.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/upload', rejectUnauthorized: false, agent: false });
    req.on('error', () => undefined);
    req.write(randomBytes(64 * 1024));
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (upstream.seen.length > before) {
          clearInterval(check);
          resolve();
        }
      }, 10);
    });
    req.destroy();
    expect(await upstream.seen.at(-1)!.closed).toBe(true);
    const logged = logLines(server).filter((entry) => entry.route === 'proxy' && entry.client_aborted === true);
    expect(logged.length).toBeGreaterThanOrEqual(2);
  });

  it('reuses keep-alive connections to the upstream', async () => {
    // One warm-up request so the pool holds a connection, then 30 more over fresh client connections.
    await request(server.port, 'GET', '/app/warm');
    const before = upstream.connections();
    for (let i = 0; i < 30; i++) expect((await request(server.port, 'GET', `/app/${i}`)).status).toBe(200);
    expect(upstream.connections() - before).toBeLessThanOrEqual(1);
  });

  it('tunnels a WebSocket both ways, relays a refused upgrade, and refuses upgrades on its own paths', async () => {
    const ws = await connectWebSocket(server.port, '/ws', { 'X-Request-Id': 'ws-1' });
    expect(ws.headers['x-request-id']).toBe('ws-1');
    expect(ws.headers['x-seen-request-id']).toBe('ws-1');
    expect(await ws.echo('hello')).toBe('hello');
    const big = 'x'.repeat(70_000);
    expect(await ws.echo(big)).toBe(big);
    expect(await ws.echo('again')).toBe('again');
    const seen = [...upstream.seen].reverse().find((entry) => entry.url === '/ws')!;
    expect(valuesOf(seen.rawHeaders, 'x-forwarded-proto')).toEqual(['https']);
    expect(valuesOf(seen.rawHeaders, 'upgrade')).toEqual(['websocket']);
    await ws.close();
    expect(logLines(server).find((entry) => entry.request_id === 'ws-1')).toMatchObject({ route: 'proxy', status: 101 });

    await expect(connectWebSocket(server.port, '/not-a-socket')).rejects.toThrow(/no upgrade: HTTP\/1\.1 426[^]*no$/);
    await expect(connectWebSocket(server.port, '/v1/health')).rejects.toThrow(/no upgrade: HTTP\/1\.1 404[^]*"code":1006/);
  });
});

describe('reverse proxy to a unix socket', () => {
  let dir: string;
  let upstream: UpstreamApp;
  let server: TestServer;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-upstream-'));
    upstream = await startUpstream({ socketPath: path.join(dir, 'app.sock') });
    server = await startTestServer({ env: { UPSTREAM: upstream.url } });
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwards requests, bodies and WebSockets over the socket', async () => {
    const res = await request(server.port, 'GET', '/app/headers', { headers: { Host: 'unix.example' } });
    expect(res.status).toBe(200);
    expect(valuesOf(res.json.rawHeaders, 'host')).toEqual(['unix.example']);
    const body = randomBytes(3 * 1024 * 1024);
    const upload = await streamThrough(server.port, { method: 'POST', path: '/upload', body: [body] });
    expect(JSON.parse(upload.text)).toEqual({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    const ws = await connectWebSocket(server.port, '/ws');
    expect(await ws.echo('over a unix socket')).toBe('over a unix socket');
    await ws.close();
  });
});

describe('reverse proxy with the upstream down', () => {
  let server: TestServer;
  let missing: TestServer;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-upstream-'));
    server = await startTestServer({ env: { UPSTREAM: `http://127.0.0.1:${await freePort()}`, API_KEY } });
    missing = await startTestServer({ env: { UPSTREAM: `unix:${path.join(dir, 'absent.sock')}` } });
  });
  afterAll(async () => {
    await server?.close();
    await missing?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 502 in the envelope with a log line and a metric, and keeps serving', async () => {
    for (let i = 1; i <= 2; i++) {
      const res = await request(server.port, 'GET', '/app', { headers: { 'X-Request-Id': `down-${i}` } });
      expect(res.status).toBe(502);
      expect(res.json.errors[0]).toMatchObject({ code: 1011, title: 'Service not ready' });
      expect(res.headers['x-request-id']).toBe(`down-${i}`);
      expect(logLines(server).find((entry) => entry.event === 'proxy.upstream_error' && entry.request_id === `down-${i}`)).toMatchObject({
        reason: 'unreachable',
        code: 'ECONNREFUSED',
      });
    }
    expect((await request(server.port, 'GET', '/healthz')).status).toBe(200);
    expect(await metricValue(server, 'hotcert_proxy_upstream_errors_total', { reason: 'unreachable' })).toBe(2);
    expect(await metricValue(server, 'hotcert_http_requests_total', { route: 'proxy', status: '502' })).toBe(2);
    await expect(connectWebSocket(server.port, '/ws')).rejects.toThrow(/no upgrade: HTTP\/1\.1 502/);

    const gone = await request(missing.port, 'POST', '/app', { body: 'x' });
    expect(gone.status).toBe(502);
    expect(logLines(missing).find((entry) => entry.event === 'proxy.upstream_error')).toMatchObject({ code: 'ENOENT' });
  });
});

describe('reverse proxy when the upstream drops a pooled connection', () => {
  let upstream: net.Server;
  let server: TestServer;
  let connections = 0;

  beforeAll(async () => {
    // Answers the first request of each connection with keep-alive, then resets the connection on the next one:
    // the race where a pooled connection dies just as the proxy reuses it.
    upstream = net.createServer((socket) => {
      connections++;
      let requests = 0;
      let buffered = '';
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('latin1');
        while (buffered.includes('\r\n\r\n')) {
          buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
          if (++requests > 1) return void socket.resetAndDestroy();
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    server = await startTestServer({ env: { UPSTREAM: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}` } });
  });
  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it('retries a GET once on a new connection, and answers 502 for a request with a body rather than resend it', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await request(server.port, 'GET', `/app/${i}`);
      expect(res.status).toBe(200);
      expect(res.text).toBe('ok');
    }
    expect(connections).toBe(3);
    const post = await request(server.port, 'POST', '/app/post', { body: 'once only' });
    expect(post.status).toBe(502);
  });
});

describe('reverse proxy and slow clients', () => {
  let upstream: UpstreamApp;
  let server: TestServer;

  beforeAll(async () => {
    upstream = await startUpstream();
    server = await startTestServer({ env: { UPSTREAM: upstream.url }, start: { requestTimeoutMs: 1500, headersTimeoutMs: 1000 } });
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  /** Writes `pieces` on a raw TLS connection, one every `everyMs`, until the server closes it; resolves with what it answered. */
  const trickle = async (head: string, pieces: string[], everyMs: number) => {
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.write(head);
    let sent = 0;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer);
      // Every piece sent and the server still waiting: give up (the assertion on `sent` then fails).
      if (sent >= pieces.length && pieces.length > 0) return socket.destroy();
      if (sent < pieces.length) socket.write(pieces[sent++]!);
    }, everyMs);
    await closed;
    clearInterval(timer);
    return { answer, sent };
  };

  it('lets a proxied upload take longer than the request timeout while it keeps moving', async () => {
    const pieces = Array.from({ length: 30 }, (_, i) => Buffer.alloc(100, i));
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/upload', rejectUnauthorized: false, agent: false }, (r) => {
        let text = '';
        r.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      let i = 0;
      // 30 pieces 100 ms apart: about twice the 1.5 s request timeout.
      const timer = setInterval(() => {
        if (i < pieces.length) req.write(pieces[i++]);
        else {
          clearInterval(timer);
          req.end();
        }
      }, 100);
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ bytes: 3000, sha256: createHash('sha256').update(Buffer.concat(pieces)).digest('hex') });
  });

  it('answers 408 when a proxied body stops arriving, and aborts the upstream request', async () => {
    const before = upstream.seen.length;
    const { answer } = await trickle('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n' + 'A'.repeat(100), [], 100);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('"code":1009');
    expect(answer).toContain('stopped arriving');
    expect(upstream.seen.length).toBe(before + 1);
    expect(await upstream.seen.at(-1)!.closed).toBe(true);
  });

  it("still cuts a client that trickles its headers, or the body of one of hotcert's own routes", async () => {
    const header = 'GET /app HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(100);
    const headers = await trickle('', [...header], 100);
    expect(headers.sent).toBeLessThan(header.length);

    const token = await server.adminToken();
    const upload = `POST /v1/certificates/external HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\n`;
    const body = await trickle(upload, Array(60).fill('A'), 200);
    expect(body.sent).toBeLessThan(60);
    expect((await request(server.port, 'GET', '/healthz')).status).toBe(200);
  });

  it("cancels only the stream of an HTTP/2 request that trickles the body of one of hotcert's own routes", async () => {
    const token = await server.adminToken();
    const session = http2.connect(`https://127.0.0.1:${server.port}`, { rejectUnauthorized: false });
    session.on('error', () => undefined);
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/v1/certificates/external', authorization: `Bearer ${token}`, 'content-type': 'text/plain' });
      stream.on('error', () => undefined);
      stream.resume();
      let sent = 0;
      const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
      const timer = setInterval(() => {
        if (stream.closed) return clearInterval(timer);
        // All sent and the server still waiting: give up (the assertion on `sent` then fails).
        if (sent >= 60) return stream.close();
        stream.write('A');
        sent++;
      }, 200);
      await closed;
      clearInterval(timer);
      expect(sent).toBeLessThan(60);
      // The connection and its other streams are untouched.
      const other = session.request({ ':method': 'GET', ':path': '/healthz' });
      const status = await new Promise<number>((resolve, reject) => {
        other.once('response', (headers) => resolve(Number(headers[':status'])));
        other.once('error', reject);
      });
      other.resume();
      expect(status).toBe(200);
    } finally {
      session.close();
    }
  });
});

describe('without UPSTREAM', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('answers paths that are not its own, upgrades included, with the 404 envelope as before', async () => {
    const res = await request(server.port, 'GET', '/app/page');
    expect(res.status).toBe(404);
    expect(res.json.errors[0]).toMatchObject({ code: 1006 });
    await expect(connectWebSocket(server.port, '/ws')).rejects.toThrow(/HTTP\/1\.1 404/);
    expect(logLines(server).filter((entry) => entry.route === 'proxy')).toEqual([]);
  });
});
