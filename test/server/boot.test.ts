import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, peerCertificate, type HttpsResponse } from '../helpers/https-client.js';
import { trackListeners } from '../helpers/listeners.js';
import { runCli } from '../helpers/spawn-server.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

// First in the file: the canary listener is per thread, so a server booted earlier in this file would hide a leak.
describe('boot in this thread', () => {
  it('keeps no listener beyond the HTTPS one: boot validation closes its canary listener', async () => {
    const listeners = trackListeners();
    let server: TestServer | undefined;
    try {
      server = await startTestServer();
      expect(await listeners.settle(1)).toBe(1);
      await server.restart();
      expect(await listeners.settle(1)).toBe(1);
    } finally {
      await server?.close();
      listeners.stop();
    }
  });
});

describe('first boot and restart', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('serves a self-signed default certificate with the SPEC SANs at once', async () => {
    const peer = await peerCertificate(server.port);
    const cert = new X509Certificate(peer.cert.raw);
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.subjectAltName).toContain('IP Address:0:0:0:0:0:0:0:1');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
  });

  it('describes the active version (no key) and logs one listening line with the fingerprint', async () => {
    const token = await server.adminToken();
    const res = await server.request('GET', '/v1/certificates/external', { headers: bearer(token) });
    expect(res.status).toBe(200);
    const [version] = res.json.certificates;
    const peer = await peerCertificate(server.port);
    expect(version).toMatchObject({ version: 1, active: true, source: 'default', fingerprint_sha256: peer.fingerprint, key_type: 'EC-P256', chain: [] });
    expect(version.sans).toEqual(expect.arrayContaining(['localhost', '127.0.0.1', '::1']));
    expect(JSON.stringify(res.json)).not.toMatch(/PRIVATE KEY/);
    const listening = server.logs.map((line) => JSON.parse(line)).filter((entry) => entry.event === 'listening');
    expect(listening).toHaveLength(1);
    expect(listening[0]).toMatchObject({ port: server.port, fingerprint_sha256: peer.fingerprint });
  });

  it('answers /ca with 404 and an empty body for the self-signed default', async () => {
    const token = await server.adminToken();
    const res = await server.request('GET', '/v1/certificates/external/ca', { headers: bearer(token) });
    expect(res.status).toBe(404);
    expect(res.text).toBe('');
  });

  it('reports health without auth on /healthz and with the certificate block on /v1/health', async () => {
    const open = await server.request('GET', '/healthz');
    expect(open.status).toBe(200);
    expect(open.json).toEqual({ status: 'ok' });
    expect((await server.request('GET', '/v1/health')).status).toBe(401);
    const token = await server.adminToken();
    const res = await server.request('GET', '/v1/health', { headers: bearer(token) });
    expect(res.json.health).toMatchObject({ webapp_status: 'ok', certificate: { status: 'ok', version: 1 } });
  });

  it('keeps the master key in a 0600 file and the private key only encrypted in the database', async () => {
    const keyFile = path.join(server.dataDir, 'master.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')).toHaveLength(32);
    const keyPem = server.hotcert.services.identities.current()!.keyPem;
    const body = keyPem.split('\n').filter((line) => line && !line.startsWith('-----'));
    server.hotcert.services.sqlite!.$client.pragma('wal_checkpoint(TRUNCATE)');
    const raw = readFileSync(path.join(server.dataDir, 'hotcert.db'));
    const rawText = raw.toString('latin1');
    for (const line of body) expect(rawText.includes(line)).toBe(false);
    expect(raw.includes(Buffer.from(body.join(''), 'base64'))).toBe(false);
    expect(rawText).not.toContain('PRIVATE KEY');
  });

  it('serves the same certificate and keeps users after a restart', async () => {
    const before = await peerCertificate(server.port);
    const token = await server.adminToken();
    await server.restart();
    const after = await peerCertificate(server.port);
    expect(after.fingerprint).toBe(before.fingerprint);
    // The admin password changed before the restart still works (adminToken logs in with it).
    expect(await server.adminToken()).not.toBe(token);
    const res = await server.request('GET', '/v1/certificates/external/history', { headers: bearer(await server.adminToken()) });
    expect(res.json.certificates).toHaveLength(1);
  });

  it('sets the response hygiene headers on every /v1 answer', async () => {
    const hygienic = (res: HttpsResponse, what: string) => {
      expect(res.headers['strict-transport-security'], what).toMatch(/max-age=\d+/);
      expect(res.headers['x-content-type-options'], what).toBe('nosniff');
      expect(res.headers['cache-control'], what).toBe('no-store');
      expect(res.headers['x-powered-by'], what).toBeUndefined();
      expect(res.headers['x-request-id'], what).toBeTruthy();
      if (res.text.startsWith('{')) expect(res.headers['content-type'], what).toBe('application/json; charset=UTF-8');
    };
    // Every route the app registers under /v1 (so a route added later is covered too), without and with an admin
    // token, with a body that is wrong for most of them: success and error answers alike.
    const routes = [...new Set(server.hotcert.app.routes.filter((r) => r.path.startsWith('/v1/') && r.method !== 'ALL').map((r) => `${r.method} ${r.path}`))];
    expect(routes.length).toBeGreaterThanOrEqual(15);
    const statuses = new Set<number>();
    for (const route of routes) {
      const [method, template] = route.split(' ') as [string, string];
      const path = template.replace(/:[a-z_]+/g, 'admin');
      const body = method === 'GET' || method === 'DELETE' ? undefined : '{"unexpected": true}';
      const headers: Record<string, string> = body === undefined ? {} : { 'Content-Type': 'application/json' };
      const anonymous = await server.request(method, path, { headers, ...(body === undefined ? {} : { body }) });
      hygienic(anonymous, `${route} without a token: ${anonymous.status}`);
      const admin = await server.request(method, path, { headers: { ...headers, ...bearer(await server.adminToken()) }, ...(body === undefined ? {} : { body }) });
      hygienic(admin, `${route} as admin: ${admin.status}`);
      statuses.add(anonymous.status).add(admin.status);
    }
    const prometheus = await server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(await server.adminToken()) });
    hygienic(prometheus, 'prometheus text');
    const unknown = await server.request('GET', '/v1/no-such-route');
    hygienic(unknown, 'an unknown /v1 path');
    // The sweep met answers of many kinds, not one.
    for (const status of [200, 400, 401, 404]) expect(statuses).toContain(status);
  });

  it('answers an internal error in the envelope with code 1014, no stack, and keeps serving TLS', async () => {
    const broken = await startTestServer();
    try {
      const token = await broken.adminToken();
      broken.hotcert.services.sqlite!.$client.close();
      const res = await broken.request('GET', '/v1/certificates/external', { headers: bearer(token) });
      expect(res.status).toBe(500);
      expect(res.json.errors).toEqual([{ code: 1014, title: 'Internal error', details: expect.any(String) }]);
      expect(res.text).not.toMatch(/\bat \S+ \(|\.ts:|\.js:|node_modules/);
      expect((await peerCertificate(broken.port)).fingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(broken.logs.some((line) => line.includes('"event":"http.internal_error"'))).toBe(true);
    } finally {
      await broken.close();
    }
  });

  it('caps JSON bodies too (413) and answers 1008 for a missing one', async () => {
    const token = await server.adminToken();
    const big = await server.request('POST', '/v1/users', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: `{"username":"${'x'.repeat(1_100_000)}"}` });
    expect(big.status).toBe(413);
    const none = await server.request('POST', '/v1/users', { headers: bearer(token) });
    expect(none.status).toBe(400);
    expect(none.json.errors[0].code).toBe(1008);
  });

  it('creates the data directory and its files readable by the owner only', () => {
    const dir = path.join(server.dataDir, 'fresh');
    expect(runCli(['reset-certificate', '--data-dir', dir]).status).toBe(0);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of ['hotcert.db', 'master.key']) expect(statSync(path.join(dir, name)).mode & 0o077).toBe(0);
  });
});
