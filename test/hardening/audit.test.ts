import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer } from '../helpers/https-client.js';
import { createChain } from '../helpers/pki.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/start-server.js';

describe('audit log', () => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer();
    await server.adminToken();
    const login = await server.request('POST', '/v1/users/login', { headers: { Authorization: basic('admin', ADMIN_PASSWORD) } });
    token = login.json.users[0].token;
    const json = { ...bearer(token), 'Content-Type': 'application/json' };
    await server.request('POST', '/v1/users', { headers: json, body: JSON.stringify({ username: 'auditee', password: 'Audit-Passw0rd!' }) });
    await server.request('PUT', '/v1/users/auditee', { headers: json, body: JSON.stringify({ password: 'Audit-Passw0rd!2' }) });
    await server.request('DELETE', '/v1/users/auditee', { headers: bearer(token) });
    const chain = await createChain();
    await server.upload(chain.bundle, token);
    await server.upload(chain.leaf.certPem, token);
    await server.request('POST', '/v1/certificates/external/rollback', { headers: json, body: '{}' });
    await server.request('DELETE', '/v1/certificates/external', { headers: bearer(token) });
    await server.request('POST', '/v1/certificates/webhooks/ca', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body: chain.root.certPem });
    await server.request('POST', '/v1/certificates/webhooks/ca', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body: 'junk' });
    await server.request('DELETE', '/v1/certificates/webhooks/ca', { headers: bearer(token) });
  });
  afterAll(() => server.close());

  it('records every state change with actor, client address, time and fingerprint, newest first', async () => {
    const res = await server.request('GET', '/v1/audit?limit=100', { headers: bearer(token) });
    expect(res.status).toBe(200);
    const rows = res.json.audit as any[];
    const actions = rows.map((row) => row.action);
    for (const action of [
      'certificate.default', 'user.password_changed', 'user.login', 'user.created', 'user.deleted',
      'certificate.upload', 'certificate.rejected', 'certificate.rollback', 'certificate.reset',
      'webhook_ca.set', 'webhook_ca.rejected', 'webhook_ca.deleted',
    ]) expect(actions).toContain(action);
    expect(rows.map((row) => row.id)).toEqual([...rows.map((row) => row.id)].sort((a, b) => b - a));
    const upload = rows.find((row) => row.action === 'certificate.upload');
    expect(upload).toMatchObject({ actor: 'admin', client_address: expect.stringMatching(/127\.0\.0\.1/), fingerprint_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(Date.parse(upload.at)).toBeGreaterThan(Date.now() - 60_000);
    const rejected = rows.find((row) => row.action === 'certificate.rejected');
    expect(rejected.details.rules.length).toBeGreaterThan(0);
    for (const row of rows.filter((r) => r.action.startsWith('certificate.') && r.action !== 'certificate.rejected')) {
      expect(row.fingerprint_sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('honours limit, checks it, and is admin only', async () => {
    const two = await server.request('GET', '/v1/audit?limit=2', { headers: bearer(token) });
    expect(two.json.audit).toHaveLength(2);
    for (const bad of ['0', 'abc', '100000']) expect((await server.request('GET', `/v1/audit?limit=${bad}`, { headers: bearer(token) })).status).toBe(400);
    const json = { ...bearer(token), 'Content-Type': 'application/json' };
    await server.request('POST', '/v1/users', { headers: json, body: JSON.stringify({ username: 'reader', password: 'Reader-Passw0rd!' }) });
    const login = await server.request('POST', '/v1/users/login', { headers: { Authorization: basic('reader', 'Reader-Passw0rd!') } });
    expect((await server.request('GET', '/v1/audit', { headers: bearer(login.json.users[0].token) })).status).toBe(403);
  });
});
