import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer } from '../helpers/https-client.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/start-server.js';

const json = { 'Content-Type': 'application/json' };

describe('users and login (WhatsApp compatible)', () => {
  let server: TestServer;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer({ via: 'app' });
  });
  afterAll(() => server.close());

  const login = (user: string, password: string, body?: unknown) =>
    server.request('POST', '/v1/users/login', {
      headers: { Authorization: basic(user, password), ...(body ? json : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('refuses the default password without new_password (400, code 1024)', async () => {
    const res = await login('admin', 'secret');
    expect(res.status).toBe(400);
    expect(res.json.errors[0]).toMatchObject({ code: 1024, title: 'Password Change Required' });
    expect(res.json.meta).toEqual({ api_status: 'stable', version: '1.0.0' });
  });

  it('rejects a weak new_password with the rules it breaks', async () => {
    const res = await login('admin', 'secret', { new_password: 'weakpass' });
    expect(res.status).toBe(400);
    expect(res.json.errors[0].code).toBe(1009);
    expect(res.json.errors[0].details).toMatch(/digit/);
    expect(res.json.errors[0].details).toMatch(/upper-case/);
  });

  it('changes the default password and answers a token in the WhatsApp shape', async () => {
    const res = await login('admin', 'secret', { new_password: ADMIN_PASSWORD });
    expect(res.status).toBe(200);
    const [entry] = res.json.users;
    expect(Buffer.from(entry.token, 'base64url').length).toBeGreaterThanOrEqual(32);
    expect(entry.expires_after).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00$/);
    const expires = Date.parse(entry.expires_after.replace(' ', 'T'));
    expect(expires - Date.now()).toBeGreaterThan(7 * 86400_000 - 60_000);
    expect(expires - Date.now()).toBeLessThan(7 * 86400_000 + 60_000);
    admin = entry.token;
    expect((await login('admin', 'secret')).status).toBe(401);
  });

  it('answers 401 with code 1005 for a wrong password, an unknown user and a malformed header', async () => {
    for (const res of [
      await login('admin', 'Wrong-Passw0rd!'),
      await login('nobody', 'Wrong-Passw0rd!'),
      await server.request('POST', '/v1/users/login', { headers: { Authorization: 'Basic !!!notbase64' } }),
      await server.request('POST', '/v1/users/login', { headers: { Authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` } }),
      await server.request('POST', '/v1/users/login'),
    ]) {
      expect(res.status).toBe(401);
      expect(res.json.errors[0]).toMatchObject({ code: 1005, title: 'Access denied' });
    }
  });

  it('answers 400 for a body that is not JSON', async () => {
    const res = await server.request('POST', '/v1/users/login', {
      headers: { Authorization: basic('admin', ADMIN_PASSWORD), ...json },
      body: '{not json',
    });
    expect(res.status).toBe(400);
    expect(res.json.errors[0].code).toBe(1009);
  });

  it('creates, reads, updates and deletes users; roles are enforced', async () => {
    const created = await server.request('POST', '/v1/users', {
      headers: { ...bearer(admin), ...json },
      body: JSON.stringify({ username: 'alice', password: 'Alice-Passw0rd!' }),
    });
    expect(created.status).toBe(201);
    expect(created.json.users).toEqual([{ username: 'alice' }]);

    const again = await server.request('POST', '/v1/users', {
      headers: { ...bearer(admin), ...json },
      body: JSON.stringify({ username: 'alice', password: 'Alice-Passw0rd!' }),
    });
    expect(again.status).toBe(409);
    expect(again.json.errors[0].code).toBe(1004);

    const missingField = await server.request('POST', '/v1/users', { headers: { ...bearer(admin), ...json }, body: JSON.stringify({ username: 'bobby' }) });
    expect(missingField.status).toBe(400);
    expect(missingField.json.errors[0].code).toBe(1008);

    const shortName = await server.request('POST', '/v1/users', { headers: { ...bearer(admin), ...json }, body: JSON.stringify({ username: 'bo', password: 'Alice-Passw0rd!' }) });
    expect(shortName.status).toBe(400);

    const read = await server.request('GET', '/v1/users/alice', { headers: bearer(admin) });
    expect(read.json.users).toEqual([{ username: 'alice', ROLES: 'ROLE_USER' }]);
    const readAdmin = await server.request('GET', '/v1/users/admin', { headers: bearer(admin) });
    expect(readAdmin.json.users).toEqual([{ username: 'admin', ROLES: 'ROLE_ADMIN' }]);

    const alice = (await login('alice', 'Alice-Passw0rd!')).json.users[0].token as string;
    expect((await server.request('GET', '/v1/users/alice', { headers: bearer(alice) })).status).toBe(200);
    const forbidden = await server.request('GET', '/v1/users/admin', { headers: bearer(alice) });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.errors[0].code).toBe(1005);
    const notAdmin = await server.request('POST', '/v1/users', { headers: { ...bearer(alice), ...json }, body: JSON.stringify({ username: 'mallory', password: 'Alice-Passw0rd!' }) });
    expect(notAdmin.status).toBe(403);
    const upload = await server.upload('x', alice);
    expect(upload.status).toBe(403);

    // A second session of alice is revoked when she changes her password through the first.
    const second = (await login('alice', 'Alice-Passw0rd!')).json.users[0].token as string;
    const changed = await server.request('PUT', '/v1/users/alice', { headers: { ...bearer(alice), ...json }, body: JSON.stringify({ password: 'Alice-Passw0rd!2', current_password: 'Alice-Passw0rd!' }) });
    expect(changed.status).toBe(200);
    expect((await server.request('GET', '/v1/users/alice', { headers: bearer(alice) })).status).toBe(200);
    expect((await server.request('GET', '/v1/users/alice', { headers: bearer(second) })).status).toBe(401);

    expect((await server.request('DELETE', '/v1/users/admin', { headers: bearer(admin) })).status).toBe(400);
    expect((await server.request('DELETE', '/v1/users/alice', { headers: bearer(alice) })).status).toBe(403);
    expect((await server.request('DELETE', '/v1/users/alice', { headers: bearer(admin) })).status).toBe(200);
    expect((await server.request('GET', '/v1/users/alice', { headers: bearer(admin) })).status).toBe(404);
    expect((await server.request('GET', '/v1/users/alice', { headers: bearer(alice) })).status).toBe(401);
  });

  it('logout revokes the presented token only', async () => {
    const a = (await login('admin', ADMIN_PASSWORD)).json.users[0].token as string;
    const b = (await login('admin', ADMIN_PASSWORD)).json.users[0].token as string;
    const out = await server.request('POST', '/v1/users/logout', { headers: bearer(a) });
    expect(out.status).toBe(200);
    expect(out.json).toEqual({ meta: { api_status: 'stable', version: '1.0.0' } });
    expect((await server.request('GET', '/v1/certificates/external', { headers: bearer(a) })).status).toBe(401);
    expect((await server.request('GET', '/v1/certificates/external', { headers: bearer(b) })).status).toBe(200);
  });

  it('rejects bad Authorization headers on protected routes', async () => {
    for (const header of ['', 'Bearer', 'Token abc', `Basic ${Buffer.from('admin:x').toString('base64')}`, 'Bearer nope']) {
      const res = await server.request('GET', '/v1/certificates/external', { headers: header ? { Authorization: header } : {} });
      expect(res.status).toBe(401);
      expect(res.json.errors[0].code).toBe(1005);
    }
  });

  it('expires tokens after 7 days (injected clock)', async () => {
    const token = (await login('admin', ADMIN_PASSWORD)).json.users[0].token as string;
    server.clock.advance(7 * 86400_000 - 60_000);
    expect((await server.request('GET', '/v1/certificates/external', { headers: bearer(token) })).status).toBe(200);
    server.clock.advance(120_000);
    expect((await server.request('GET', '/v1/certificates/external', { headers: bearer(token) })).status).toBe(401);
    admin = (await login('admin', ADMIN_PASSWORD)).json.users[0].token as string;
  });

  it('throttles failed logins per user name, whatever its case or spacing (429 + Retry-After)', async () => {
    const created = await server.request('POST', '/v1/users', {
      headers: { ...bearer(admin), ...json },
      body: JSON.stringify({ username: 'carol', password: 'Carol-Passw0rd!' }),
    });
    expect(created.status).toBe(201);
    const names = ['carol', 'CAROL', ' carol', 'Carol ', 'cArOl'];
    for (const name of names) expect((await login(name, 'Wrong-Passw0rd!')).status).toBe(401);
    const throttled = await login('carol', 'Carol-Passw0rd!');
    expect(throttled.status).toBe(429);
    expect(throttled.json.errors[0].code).toBe(1015);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    server.clock.advance(16 * 60_000);
    expect((await login('carol', 'Carol-Passw0rd!')).status).toBe(200);
  });

  it('throttles failed logins per client address across user names', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await login(`ghost${i}`, 'Wrong-Passw0rd!')).status);
    // Every name is new, so only the per-address bucket can have stopped them.
    expect(statuses.slice(0, 10).every((status) => status === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    server.clock.advance(16 * 60_000);
  });

  it('answers unknown routes with 404 / code 1006 in the envelope', async () => {
    const res = await server.request('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.json.errors[0]).toMatchObject({ code: 1006, title: 'Resource not found' });
  });
});
