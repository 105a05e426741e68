import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import https from 'node:https';
import { describe, expect, it } from 'vitest';
import { bearer } from '../helpers/https-client.js';
import { createChain, createRoot, issue, pemBundle } from '../helpers/pki.js';
import { useAdminServer } from '../helpers/start-server.js';

describe('webhook trust store', () => {
  const ctx = useAdminServer();

  const post = (body: string, headers: Record<string, string> = {}) =>
    ctx.server.request('POST', '/v1/certificates/webhooks/ca', { headers: { ...bearer(ctx.token), 'Content-Type': 'text/plain', ...headers }, body });
  const get = () => ctx.server.request('GET', '/v1/certificates/webhooks/ca', { headers: bearer(ctx.token) });

  it('answers 404 with an empty body when no bundle is stored', async () => {
    const res = await get();
    expect(res.status).toBe(404);
    expect(res.text).toBe('');
  });

  it('stores CA certificates, accepts a non-CA with a warning, and serves them back', async () => {
    const chain = await createChain();
    const res = await post(pemBundle(chain.root.certPem, chain.leaf.certPem));
    expect(res.status).toBe(201);
    expect(res.text).toBe('null');
    const stored = await get();
    expect(stored.status).toBe(200);
    expect(stored.headers['content-type']).toMatch(/^text\/plain/);
    expect(stored.text.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const audit = await ctx.server.request('GET', '/v1/audit?limit=5', { headers: bearer(ctx.token) });
    const entry = audit.json.audit.find((row: any) => row.action === 'webhook_ca.set');
    expect(entry.details.warnings).toContain('webhook-ca-not-ca');
  });

  it('rejects a private key, an expired certificate, other blocks and garbage, changing nothing', async () => {
    const before = (await get()).text;
    const chain = await createChain();
    const expired = await issue(chain.root, { isCa: true, notBefore: new Date(Date.now() - 10 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
    for (const body of [
      pemBundle(chain.root.certPem, chain.leaf.keyPem),
      expired.certPem,
      '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n',
      'not a certificate at all',
    ]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.json.errors[0].code).toBe(1009);
    }
    expect((await get()).text).toBe(before);
    expect((await post(chain.root.certPem, { 'Content-Type': 'application/json' })).status).toBe(415);
  });

  it('is the live trust store of outgoing HTTPS calls, replaced without restart', async () => {
    const root = await createRoot();
    const ca = await issue(root, { isCa: true });
    const leaf = await issue(ca, { sans: ['localhost', '127.0.0.1'] });
    const target = createServer({ key: leaf.keyPem, cert: pemBundle(leaf.certPem, ca.certPem) }, (_req, res) => res.end('hook ok'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const { port } = target.address() as AddressInfo;
    const call = () =>
      new Promise<string>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, path: '/', agent: ctx.server.hotcert.services.trustStore.agent() }, (res) => {
            let body = '';
            res.on('data', (chunk) => (body += chunk));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    try {
      await expect(call()).rejects.toThrow();
      expect((await post(root.certPem)).status).toBe(201);
      await expect(call()).resolves.toBe('hook ok');
      expect((await ctx.server.request('DELETE', '/v1/certificates/webhooks/ca', { headers: bearer(ctx.token) })).status).toBe(200);
      await expect(call()).rejects.toThrow();
      expect((await get()).status).toBe(404);
    } finally {
      target.close();
    }
  });

  it('is admin only', async () => {
    const created = await ctx.server.request('POST', '/v1/users', {
      headers: { ...bearer(ctx.token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'hooks', password: 'Hooks-Passw0rd!' }),
    });
    expect(created.status).toBe(201);
    const login = await ctx.server.request('POST', '/v1/users/login', { headers: { Authorization: `Basic ${Buffer.from('hooks:Hooks-Passw0rd!').toString('base64')}` } });
    const userToken = login.json.users[0].token;
    expect((await ctx.server.request('GET', '/v1/certificates/webhooks/ca', { headers: bearer(userToken) })).status).toBe(403);
  });
});
