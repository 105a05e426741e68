import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../helpers/https-client.js';
import { createChain, leafFingerprint } from '../helpers/pki.js';
import { runCli } from '../helpers/spawn-server.js';
import { startTestServer, useAdminServer, type TestServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait.js';
import { signatureValid, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const BASE = '/v1/settings/webhooks';
/**
 * Small retry delays so a retry is seen quickly; the tests wait for deliveries, never for time. A generous validation
 * timeout keeps uploads from answering 503 on a busy machine (not what these tests are about).
 */
const FAST = { taskTimeoutMs: 60_000, webhooks: { retryDelaysMs: [200, 400], maxAttempts: 50, timeoutMs: 15_000, pollIntervalMs: 50 } };

const jsonHeaders = (token: string) => ({ ...bearer(token), 'Content-Type': 'application/json' });

async function register(server: TestServer, token: string, body: Record<string, unknown>) {
  const res = await server.request('POST', BASE, { headers: jsonHeaders(token), body: JSON.stringify(body) });
  expect(res.status, res.text).toBe(201);
  return res.json.webhooks[0] as { id: string; secret: string; url: string; events: string[]; enabled: boolean };
}

async function deliveries(server: TestServer, token: string, id: string) {
  const res = await server.request('GET', `${BASE}/${id}/deliveries?limit=200`, { headers: bearer(token) });
  expect(res.status, res.text).toBe(200);
  return res.json.deliveries as { id: string; event_type: string; status: string; attempts: number; last_status_code: number | null; last_error: string | null }[];
}

const uploadCa = (server: TestServer, token: string, pem: string) =>
  server.request('POST', '/v1/certificates/webhooks/ca', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body: pem });

describe('event webhooks: admin API', { timeout: 120_000 }, () => {
  const ctx = useAdminServer({ start: FAST });

  it('registers an https URL, returns the secret once, and never again', async () => {
    const created = await register(ctx.server, ctx.token, { url: 'https://hooks.example.test/hotcert', events: ['certificate.activated', 'certificate.expiring'] });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ url: 'https://hooks.example.test/hotcert', events: ['certificate.activated', 'certificate.expiring'], enabled: true });
    const one = await ctx.server.request('GET', `${BASE}/${created.id}`, { headers: bearer(ctx.token) });
    const all = await ctx.server.request('GET', BASE, { headers: bearer(ctx.token) });
    expect(one.status).toBe(200);
    expect(one.json.webhooks[0].id).toBe(created.id);
    expect(all.json.webhooks.map((hook: { id: string }) => hook.id)).toContain(created.id);
    for (const text of [one.text, all.text]) {
      expect(text).not.toContain(created.secret);
      expect(text).not.toContain('secret');
    }
    // Sealed at rest: the database file holds no copy of the secret in clear.
    const db = new Database(path.join(ctx.server.dataDir, 'hotcert.db'), { readonly: true });
    try {
      const row = db.prepare('select * from webhooks where id = ?').get(created.id) as Record<string, unknown>;
      expect(JSON.stringify(row)).not.toContain(created.secret);
      expect(Buffer.from(row.secret_sealed as Buffer).includes(Buffer.from(created.secret))).toBe(false);
    } finally {
      db.close();
    }
    const audit = await ctx.server.request('GET', '/v1/audit?limit=20', { headers: bearer(ctx.token) });
    expect(audit.json.audit.find((row: { action: string }) => row.action === 'webhook.created').details.id).toBe(created.id);
    expect(audit.text).not.toContain(created.secret);
  });

  it('subscribes to every event type by default', async () => {
    const created = await register(ctx.server, ctx.token, { url: 'https://hooks.example.test/all' });
    expect(created.events).toEqual(expect.arrayContaining(['certificate.activated', 'certificate.rejected', 'certificate.expiring', 'certificate.expired', 'certificate.fallback', 'acme.renewed', 'acme.renewal_failed']));
  });

  it('refuses http://, garbage, credentials, unknown events and a missing url with the envelope, storing nothing', async () => {
    const before = (await ctx.server.request('GET', BASE, { headers: bearer(ctx.token) })).json.webhooks.length;
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ url: 'http://hooks.example.test/x' }, 1009, /https/],
      [{ url: 'not a url' }, 1009, /https:\/\//],
      [{ url: 'https://user:pw@hooks.example.test/' }, 1009, /user name or password/],
      [{ url: 'https://hooks.example.test/', events: ['certificate.deleted'] }, 1009, /event types/],
      [{ url: 'https://hooks.example.test/', events: [] }, 1009, /event types/],
      [{ url: 42 }, 1009, /url must be a string/],
      [{ events: ['certificate.activated'] }, 1008, /url is required/],
    ];
    for (const [body, code, details] of cases) {
      const res = await ctx.server.request('POST', BASE, { headers: jsonHeaders(ctx.token), body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.errors[0].code).toBe(code);
      expect(res.json.errors[0].details).toMatch(details);
    }
    expect((await ctx.server.request('GET', BASE, { headers: bearer(ctx.token) })).json.webhooks.length).toBe(before);
  });

  it('changes url, events and enabled with PATCH, deletes, and answers 404 for unknown ids', async () => {
    const created = await register(ctx.server, ctx.token, { url: 'https://hooks.example.test/patch' });
    const patched = await ctx.server.request('PATCH', `${BASE}/${created.id}`, { headers: jsonHeaders(ctx.token), body: JSON.stringify({ enabled: false, events: ['certificate.expired'] }) });
    expect(patched.status).toBe(200);
    expect(patched.json.webhooks[0]).toMatchObject({ id: created.id, enabled: false, events: ['certificate.expired'], url: 'https://hooks.example.test/patch' });
    expect(patched.text).not.toContain(created.secret);
    const badUrl = await ctx.server.request('PATCH', `${BASE}/${created.id}`, { headers: jsonHeaders(ctx.token), body: JSON.stringify({ url: 'http://plain.example.test/' }) });
    expect(badUrl.status).toBe(400);
    const empty = await ctx.server.request('PATCH', `${BASE}/${created.id}`, { headers: jsonHeaders(ctx.token), body: '{}' });
    expect(empty.status).toBe(400);
    expect(empty.json.errors[0]).toMatchObject({ code: 1008, details: 'give at least one of url, events, enabled' });
    expect((await ctx.server.request('GET', `${BASE}/${created.id}`, { headers: bearer(ctx.token) })).json.webhooks[0].url).toBe('https://hooks.example.test/patch');

    expect((await ctx.server.request('DELETE', `${BASE}/${created.id}`, { headers: bearer(ctx.token) })).status).toBe(200);
    for (const [method, suffix] of [['GET', ''], ['DELETE', ''], ['GET', '/deliveries']] as const) {
      const res = await ctx.server.request(method, `${BASE}/${created.id}${suffix}`, { headers: bearer(ctx.token) });
      expect(res.status).toBe(404);
      expect(res.json.errors[0].code).toBe(1006);
    }
    const patchGone = await ctx.server.request('PATCH', `${BASE}/${created.id}`, { headers: jsonHeaders(ctx.token), body: JSON.stringify({ enabled: true }) });
    expect(patchGone.status).toBe(404);
    const actions = (await ctx.server.request('GET', '/v1/audit?limit=20', { headers: bearer(ctx.token) })).json.audit.map((row: { action: string }) => row.action);
    expect(actions).toEqual(expect.arrayContaining(['webhook.updated', 'webhook.deleted']));
  });

  it('is for admins only', async () => {
    const json = jsonHeaders(ctx.token);
    await ctx.server.request('POST', '/v1/users', { headers: json, body: JSON.stringify({ username: 'hookuser', password: 'Hook-Passw0rd!' }) });
    const login = await ctx.server.request('POST', '/v1/users/login', { headers: { Authorization: `Basic ${Buffer.from('hookuser:Hook-Passw0rd!').toString('base64')}` } });
    const userToken = login.json.users[0].token as string;
    const created = await register(ctx.server, ctx.token, { url: 'https://hooks.example.test/admin-only' });
    const attempts = [
      ['GET', BASE, undefined],
      ['POST', BASE, JSON.stringify({ url: 'https://evil.example.test/' })],
      ['GET', `${BASE}/${created.id}`, undefined],
      ['PATCH', `${BASE}/${created.id}`, JSON.stringify({ url: 'https://evil.example.test/' })],
      ['DELETE', `${BASE}/${created.id}`, undefined],
      ['GET', `${BASE}/${created.id}/deliveries`, undefined],
    ] as const;
    for (const [method, url, body] of attempts) {
      const asUser = await ctx.server.request(method, url, { headers: { ...bearer(userToken), 'Content-Type': 'application/json' }, body });
      expect(asUser.status, `${method} ${url}`).toBe(403);
      expect(asUser.json.errors[0].code).toBe(1005);
      expect((await ctx.server.request(method, url, { headers: { 'Content-Type': 'application/json' }, body })).status).toBe(401);
    }
    expect((await ctx.server.request('GET', `${BASE}/${created.id}`, { headers: bearer(ctx.token) })).json.webhooks[0].url).toBe('https://hooks.example.test/admin-only');
  });
});

describe('event webhooks: delivery to a local HTTPS receiver', { timeout: 120_000 }, () => {
  const ctx = useAdminServer({ start: FAST });
  let receiver: WebhookReceiver;
  let hook: { id: string; secret: string };

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    hook = await register(ctx.server, ctx.token, { url: receiver.url, events: ['certificate.activated', 'certificate.rejected', 'certificate.expiring'] });
  });
  afterAll(() => receiver?.close());

  it('fails TLS (retried, logged) until the receiver CA is uploaded as the webhook CA; then delivers a signed event', async () => {
    const chain = await createChain();
    expect((await ctx.server.upload(chain.bundle, ctx.token)).status).toBe(201);
    // hotcert does not trust the receiver yet: the handshake fails and the delivery waits for a retry.
    await receiver.until(() => receiver.tlsFailures >= 1, 'a refused TLS handshake');
    const failing = await waitFor(() => deliveries(ctx.server, ctx.token, hook.id), (rows) => rows.some((row) => row.attempts >= 1 && row.last_error !== null), 60_000);
    const first = failing.find((row) => row.event_type === 'certificate.activated')!;
    expect(first.status).toMatch(/pending|sending/);
    expect(first.last_error).toMatch(/^TLS: /);
    expect(first.last_status_code).toBeNull();
    expect(receiver.received).toHaveLength(0);

    expect((await uploadCa(ctx.server, ctx.token, receiver.root.certPem)).status).toBe(201);
    const event = await receiver.event('certificate.activated');
    expect(signatureValid(event, hook.secret)).toBe(true);
    expect(signatureValid(event, 'whsec_wrong')).toBe(false);
    expect(event.headers['x-hotcert-event']).toBe('certificate.activated');
    expect(event.headers['content-type']).toBe('application/json');
    expect(event.headers['x-hotcert-delivery']).toBe(first.id);
    expect(Object.keys(event.json).sort()).toEqual(['created_at', 'data', 'id', 'type']);
    expect(event.json.id).toMatch(/^evt_/);
    expect(event.json.data).toMatchObject({ fingerprint_sha256: leafFingerprint(chain), source: 'upload', actor: 'admin' });
    expect(event.body).not.toMatch(/PRIVATE KEY/);

    const done = await waitFor(() => deliveries(ctx.server, ctx.token, hook.id), (rows) => rows.find((row) => row.id === first.id)?.status === 'delivered', 60_000);
    const row = done.find((r) => r.id === first.id)!;
    expect(row.attempts).toBeGreaterThanOrEqual(2);
    expect(row.last_status_code).toBe(200);
    expect(row.last_error).toBeNull();
  });

  it('tells about a rejected upload', async () => {
    const chain = await createChain();
    const other = await createChain();
    const res = await ctx.server.upload(`${other.leaf.keyPem}${chain.leaf.certPem}`, ctx.token);
    expect(res.status).toBe(400);
    const event = await receiver.event('certificate.rejected');
    expect(signatureValid(event, hook.secret)).toBe(true);
    expect(event.json.data.actor).toBe('admin');
    expect((event.json.data.rules as string[]).length).toBeGreaterThan(0);
  });

  it('retries after a 500 and records the delivery once it answers 200', async () => {
    receiver.answer({ status: 500 });
    const chain = await createChain();
    expect((await ctx.server.upload(chain.bundle, ctx.token)).status).toBe(201);
    const fingerprint = leafFingerprint(chain);
    await receiver.until(() => receiver.received.filter((hook) => hook.json.data.fingerprint_sha256 === fingerprint).length >= 2, 'a retry after 500');
    const copies = receiver.received.filter((hook) => hook.json.data.fingerprint_sha256 === fingerprint);
    expect(copies).toHaveLength(2);
    // The same delivery (id and body) again, freshly signed.
    expect(copies[1]!.headers['x-hotcert-delivery']).toBe(copies[0]!.headers['x-hotcert-delivery']);
    expect(copies[1]!.body).toBe(copies[0]!.body);
    expect(copies.every((copy) => signatureValid(copy, hook.secret))).toBe(true);
    const rows = await waitFor(
      () => deliveries(ctx.server, ctx.token, hook.id),
      (all) => all.find((row) => row.id === copies[0]!.headers['x-hotcert-delivery'])?.status === 'delivered',
      60_000,
    );
    expect(rows.find((row) => row.id === copies[0]!.headers['x-hotcert-delivery'])).toMatchObject({ attempts: 2, last_status_code: 200, last_error: null });
    const metrics = await ctx.server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(ctx.token) });
    expect(metrics.text).toMatch(/hotcert_webhook_deliveries_total\{result="delivered"\} [1-9]/);
    expect(metrics.text).toMatch(/hotcert_webhook_deliveries_total\{result="retry"\} [1-9]/);
  });

  it('never holds an upload while the receiver hangs', async () => {
    receiver.answer({ hang: true });
    const first = await createChain();
    expect((await ctx.server.upload(first.bundle, ctx.token)).status).toBe(201);
    await receiver.until(() => receiver.held === 1, 'a held request');
    // The receiver still holds hotcert's request: more uploads answer regardless.
    const second = await createChain();
    const third = await createChain();
    expect((await ctx.server.upload(second.bundle, ctx.token)).status).toBe(201);
    expect((await ctx.server.upload(third.bundle, ctx.token)).status).toBe(201);
    expect(receiver.held).toBe(1);
    // Other deliveries are not stuck behind the hanging one.
    await receiver.event('certificate.activated', (hook) => hook.json.data.fingerprint_sha256 === leafFingerprint(third));
    receiver.release();
    await waitFor(
      () => deliveries(ctx.server, ctx.token, hook.id),
      (rows) => rows.filter((row) => row.event_type === 'certificate.activated').every((row) => row.status === 'delivered'),
      60_000,
    );
  });

  it('tells about a certificate imported with the CLI: the command records the event, the running server sends it', async () => {
    const chain = await createChain();
    const files = mkdtempSync(path.join(os.tmpdir(), 'hotcert-webhook-cli-'));
    try {
      writeFileSync(path.join(files, 'bundle.pem'), chain.bundle);
      const imported = runCli(['import', path.join(files, 'bundle.pem'), '--data-dir', ctx.server.dataDir]);
      expect(imported.status, imported.stderr).toBe(0);
    } finally {
      rmSync(files, { recursive: true, force: true });
    }
    const event = await receiver.event('certificate.activated', (received) => received.json.data.fingerprint_sha256 === leafFingerprint(chain));
    expect(event.json.data.source).toBe('import');
    expect(signatureValid(event, hook.secret)).toBe(true);
  });

  it('lists deliveries newest first, bounded by limit', async () => {
    const all = await deliveries(ctx.server, ctx.token, hook.id);
    expect(all.length).toBeGreaterThanOrEqual(5);
    const two = await ctx.server.request('GET', `${BASE}/${hook.id}/deliveries?limit=2`, { headers: bearer(ctx.token) });
    expect(two.json.deliveries.map((row: { id: string }) => row.id)).toEqual(all.slice(0, 2).map((row) => row.id));
    const bad = await ctx.server.request('GET', `${BASE}/${hook.id}/deliveries?limit=5000`, { headers: bearer(ctx.token) });
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0].details).toBe('limit must be a whole number from 1 to 200');
  });
});

describe('event webhooks: giving up, timeouts', { timeout: 120_000 }, () => {
  const ctx = useAdminServer({ start: { taskTimeoutMs: 60_000, webhooks: { retryDelaysMs: [50], maxAttempts: 3, timeoutMs: 2000, pollIntervalMs: 50 } } });
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    expect((await uploadCa(ctx.server, ctx.token, receiver.root.certPem)).status).toBe(201);
  });
  afterAll(() => receiver?.close());

  it('marks a delivery failed after the last attempt, with the last answer', async () => {
    const hook = await register(ctx.server, ctx.token, { url: receiver.url, events: ['certificate.activated'] });
    receiver.answer({ status: 503 }, { status: 500 }, { status: 502 });
    expect((await ctx.server.upload((await createChain()).bundle, ctx.token)).status).toBe(201);
    const rows = await waitFor(() => deliveries(ctx.server, ctx.token, hook.id), (all) => all[0]?.status === 'failed', 60_000);
    expect(rows[0]).toMatchObject({ status: 'failed', attempts: 3, last_status_code: 502, last_error: 'HTTP 502' });
    expect(receiver.received).toHaveLength(3);
    const metrics = await ctx.server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(ctx.token) });
    expect(metrics.text).toMatch(/hotcert_webhook_deliveries_total\{result="failed"\} 1/);
    await ctx.server.request('DELETE', `${BASE}/${hook.id}`, { headers: bearer(ctx.token) });
  });

  it('cuts an attempt the receiver never answers and records the timeout', async () => {
    const hook = await register(ctx.server, ctx.token, { url: receiver.url, events: ['certificate.activated'] });
    receiver.answer({ hang: true }, { hang: true }, { hang: true });
    expect((await ctx.server.upload((await createChain()).bundle, ctx.token)).status).toBe(201);
    const rows = await waitFor(() => deliveries(ctx.server, ctx.token, hook.id), (all) => all[0]?.status === 'failed', 60_000);
    expect(rows[0]!.last_error).toMatch(/^timeout/);
    expect(rows[0]!.attempts).toBe(3);
    await ctx.server.request('DELETE', `${BASE}/${hook.id}`, { headers: bearer(ctx.token) });
  });

  it('records nothing for a disabled webhook', async () => {
    const hook = await register(ctx.server, ctx.token, { url: receiver.url, events: ['certificate.activated'], enabled: false });
    expect((await ctx.server.upload((await createChain()).bundle, ctx.token)).status).toBe(201);
    const other = await register(ctx.server, ctx.token, { url: receiver.url, events: ['certificate.activated'] });
    const chain = await createChain();
    expect((await ctx.server.upload(chain.bundle, ctx.token)).status).toBe(201);
    await receiver.event('certificate.activated', (received) => received.json.data.fingerprint_sha256 === leafFingerprint(chain));
    expect(await deliveries(ctx.server, ctx.token, hook.id)).toEqual([]);
    expect((await deliveries(ctx.server, ctx.token, other.id)).length).toBe(1);
  });
});

describe('event webhooks: two processes on one database', { timeout: 120_000 }, () => {
  let a: TestServer;
  let b: TestServer;
  let receiver: WebhookReceiver;
  let token: string;
  let hook: { id: string; secret: string };

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    a = await startTestServer({ start: { ...FAST, expiryCheckIntervalMs: 100 } });
    token = await a.adminToken();
    expect((await uploadCa(a, token, receiver.root.certPem)).status).toBe(201);
    hook = await register(a, token, { url: receiver.url });
    b = await startTestServer({ dataDir: a.dataDir, start: { ...FAST, expiryCheckIntervalMs: 100 } });
  });
  afterAll(async () => {
    await b?.close({ keepData: true });
    await a?.close();
    await receiver?.close();
  });

  it('sends each delivery once although both processes poll the outbox', async () => {
    const fingerprints: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const chain = await createChain();
      fingerprints.push(leafFingerprint(chain));
      const res = await (i % 2 === 0 ? a : b).upload(chain.bundle, token);
      expect(res.status, res.text).toBe(201);
    }
    await receiver.until(() => fingerprints.every((fp) => receiver.received.some((hook) => hook.json.type === 'certificate.activated' && hook.json.data.fingerprint_sha256 === fp)), 'four activations');
    const rows = await waitFor(() => deliveries(a, token, hook.id), (all) => all.length > 0 && all.every((row) => row.status === 'delivered'), 60_000);
    const ids = receiver.received.map((received) => received.headers['x-hotcert-delivery']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(rows.length);
  });

  it('tells about a certificate expiring within 7 days once, not once per process', async () => {
    const chain = await createChain({ leaf: { notAfter: new Date(Date.now() + 5 * 86400_000) } });
    const fingerprint = leafFingerprint(chain);
    expect((await a.upload(chain.bundle, token)).status).toBe(201);
    const expiring = await receiver.event('certificate.expiring', (received) => received.json.data.fingerprint_sha256 === fingerprint);
    expect(expiring.json.data).toMatchObject({ threshold_days: 7, days_left: 4 });
    expect(signatureValid(expiring, hook.secret)).toBe(true);
    // Both processes have checked expiry for this certificate (each logs it) ...
    const logged = (server: TestServer) => server.logs.some((line) => line.includes('"event":"certificate.expiring"') && line.includes(fingerprint));
    await waitFor(async () => logged(a) && logged(b), Boolean, 60_000);
    // ... and a restart checks again: still one delivery per webhook.
    await b.restart();
    await waitFor(async () => b.logs.filter((line) => line.includes('"event":"certificate.expiring"') && line.includes(fingerprint)).length >= 2, Boolean, 60_000);
    const rows = await waitFor(() => deliveries(a, token, hook.id), (all) => all.every((row) => row.status === 'delivered'), 60_000);
    expect(rows.filter((row) => row.event_type === 'certificate.expiring')).toHaveLength(1);
    expect(receiver.received.filter((received) => received.json.type === 'certificate.expiring' && received.json.data.fingerprint_sha256 === fingerprint)).toHaveLength(1);
  });
});
