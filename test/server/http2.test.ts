import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { createIdentitySwitch } from '../../src/tls/identity-switch.js';
import { startServer } from '../../src/tls/https-server.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/start-server.js';
import { basic, bearer, jsonOrUndefined, request } from '../helpers/https-client.js';
import { createChain, hexFingerprint } from '../helpers/pki.js';

interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  text: string;
  json: any;
}

function h2connect(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

function h2request(session: http2.ClientHttp2Session, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': method, ':path': path, ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, text, json: jsonOrUndefined(text) });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

const peerFingerprint = (session: http2.ClientHttp2Session) => hexFingerprint((session.socket as tls.TLSSocket).getPeerCertificate().fingerprint256);

function alpn(port: number, protocols: string[]): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: protocols });
    socket.once('secureConnect', () => {
      resolve(socket.alpnProtocol ?? false);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('HTTP/2 on the one listener', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ start: { requestTimeoutMs: 2000 } });
  });
  afterAll(() => server.close());

  it('negotiates h2 with clients that offer it and http/1.1 with those that do not', async () => {
    expect(await alpn(server.port, ['h2', 'http/1.1'])).toBe('h2');
    expect(await alpn(server.port, ['http/1.1'])).toBe('http/1.1');
    const h1 = await request(server.port, 'GET', '/healthz');
    expect(h1.status).toBe(200);
    expect(h1.json).toEqual({ status: 'ok' });
  });

  it('answers the control API over h2: health, login, upload; a new session then presents the new certificate', async () => {
    const session = await h2connect(server.port);
    try {
      expect((session.socket as tls.TLSSocket).alpnProtocol).toBe('h2');
      const health = await h2request(session, 'GET', '/healthz');
      expect(health.status).toBe(200);
      expect(health.json).toEqual({ status: 'ok' });
      expect((await h2request(session, 'GET', '/v1/nope')).json.errors[0].code).toBeDefined();

      const login = await h2request(session, 'POST', '/v1/users/login', { authorization: basic('admin', 'secret'), 'content-type': 'application/json' }, JSON.stringify({ new_password: ADMIN_PASSWORD }));
      expect(login.status).toBe(200);
      const token = login.json.users[0].token as string;
      const protectedHealth = await h2request(session, 'GET', '/v1/health', bearer(token));
      expect(protectedHealth.json.health.certificate.version).toBe(1);

      const before = peerFingerprint(session);
      const chain = await createChain({ keyKind: 'ec256' });
      const uploaded = await h2request(session, 'POST', '/v1/certificates/external', { ...bearer(token), 'content-type': 'text/plain' }, chain.bundle);
      expect(uploaded.status).toBe(201);
      const expected = chain.leaf.cert.fingerprint256.replaceAll(':', '').toLowerCase();

      const fresh = await h2connect(server.port);
      expect(peerFingerprint(fresh)).toBe(expected);
      expect((await h2request(fresh, 'GET', '/healthz')).status).toBe(200);
      fresh.close();
      // The session opened before the swap keeps its handshake and keeps working.
      expect(peerFingerprint(session)).toBe(before);
      expect((await h2request(session, 'GET', '/healthz')).status).toBe(200);
    } finally {
      session.close();
    }
  });

  it('resets an h2 request whose body trickles past the request timeout, and keeps serving', async () => {
    const session = await h2connect(server.port);
    session.on('error', () => undefined);
    const token = await server.adminToken();
    const stream = session.request({ ':method': 'POST', ':path': '/v1/certificates/external', ...bearer(token), 'content-type': 'text/plain', 'content-length': '5000' });
    stream.on('error', () => undefined);
    stream.resume();
    const timer = setInterval(() => !stream.destroyed && stream.write('A'), 200);
    const code = await new Promise<number>((resolve) => stream.once('close', () => resolve(stream.rstCode ?? -1)));
    clearInterval(timer);
    expect(code).toBe(http2.constants.NGHTTP2_CANCEL);
    expect((await h2request(session, 'GET', '/healthz')).status).toBe(200);
    session.close();
  });

  it('closes an h2 connection that never sends a frame (idle session)', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    expect(socket.alpnProtocol).toBe('h2');
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    expect((await request(server.port, 'GET', '/healthz')).status).toBe(200);
  });
});

describe('graceful close with HTTP/2 and HTTP/1.1 requests in flight', () => {
  it('sends GOAWAY, lets both in-flight answers finish, then closes without waiting for the grace period', async () => {
    const chain = await createChain({ keyKind: 'ec256' });
    const identities = createIdentitySwitch({ fingerprint: 'test', keyPem: chain.leaf.keyPem, certPem: chain.leaf.certPem, chainPems: [] });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let arrived = 0;
    let bothArrived!: () => void;
    const waiting = new Promise<void>((resolve) => (bothArrived = resolve));
    const running = await startServer({
      identities,
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('silent'),
      fetch: async () => {
        if (++arrived === 2) bothArrived();
        await released;
        return new Response('done');
      },
    });
    const session = await h2connect(running.port);
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    const h2answer = h2request(session, 'GET', '/slow');
    const agent = new https.Agent({ keepAlive: true });
    const h1answer = request(running.port, 'GET', '/slow', { agent });
    await waiting;
    // A grace period far beyond the test timeout: close() must end because the connections did.
    const closed = running.close(120_000);
    await goaway;
    release();
    expect((await h2answer).text).toBe('done');
    const h1 = await h1answer;
    expect(h1.text).toBe('done');
    expect(h1.headers.connection).toBe('close');
    await closed;
    agent.destroy();
    await expect(h2connect(running.port)).rejects.toThrow(/ECONNREFUSED/);
  });
});
