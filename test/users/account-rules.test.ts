import { describe, expect, it } from 'vitest';
import { basic, bearer } from '../helpers/https-client.js';
import { useAdminServer } from '../helpers/start-server.js';

const json = { 'Content-Type': 'application/json' };

describe('account rules beyond WhatsApp: own password changes prove the old one; no look-alike names', () => {
  const ctx = useAdminServer({ via: 'app' });

  const createUser = (username: string, password = 'Frank-Passw0rd!') =>
    ctx.server.request('POST', '/v1/users', { headers: { ...bearer(ctx.token), ...json }, body: JSON.stringify({ username, password }) });
  const login = (user: string, password: string) => ctx.server.request('POST', '/v1/users/login', { headers: { Authorization: basic(user, password) } });
  const put = (token: string, name: string, body: unknown) =>
    ctx.server.request('PUT', `/v1/users/${name}`, { headers: { ...bearer(token), ...json }, body: JSON.stringify(body) });

  it('a user changing their own password must give current_password; an admin changing another user does not', async () => {
    expect((await createUser('frank')).status).toBe(201);
    const frank = (await login('frank', 'Frank-Passw0rd!')).json.users[0].token as string;

    const without = await put(frank, 'frank', { password: 'Frank-Passw0rd!2' });
    expect(without.status).toBe(400);
    expect(without.json.errors[0]).toMatchObject({ code: 1008 });
    expect(without.json.errors[0].details).toContain('current_password');
    const wrong = await put(frank, 'frank', { password: 'Frank-Passw0rd!2', current_password: 'Not-His-Passw0rd!' });
    expect(wrong.status).toBe(403);
    expect(wrong.json.errors[0].code).toBe(1005);
    // Nothing changed: the old password still logs in.
    expect((await login('frank', 'Frank-Passw0rd!')).status).toBe(200);

    const right = await put(frank, 'frank', { password: 'Frank-Passw0rd!2', current_password: 'Frank-Passw0rd!' });
    expect(right.status).toBe(200);
    expect((await login('frank', 'Frank-Passw0rd!2')).status).toBe(200);

    // The admin resets frank's password without knowing it.
    const byAdmin = await put(ctx.token, 'frank', { password: 'Frank-Passw0rd!3' });
    expect(byAdmin.status).toBe(200);
    expect((await login('frank', 'Frank-Passw0rd!3')).status).toBe(200);
    // The admin changing their own password is "their own": current_password required too.
    expect((await put(ctx.token, 'admin', { password: 'Adm1n-Passw0rd!new' })).status).toBe(400);
  });

  it('wrong current_password attempts are throttled like logins', async () => {
    expect((await createUser('grace', 'Grace-Passw0rd!')).status).toBe(201);
    const grace = (await login('grace', 'Grace-Passw0rd!')).json.users[0].token as string;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await put(grace, 'grace', { password: 'Grace-Passw0rd!2', current_password: `Guess-${i}-Passw0rd!` })).status);
    expect(statuses).toEqual([403, 403, 403, 403, 403, 429]);
  });

  it('refuses a user whose name differs from an existing one only by case, white space or Unicode form (409)', async () => {
    expect((await createUser('heidi')).status).toBe(201);
    for (const twin of ['HEIDI', 'Heidi', 'admin'.toUpperCase()]) {
      const res = await createUser(twin);
      expect(res.status).toBe(409);
      expect(res.json.errors[0]).toMatchObject({ code: 1004, title: 'Resource already exists' });
      expect(res.json.meta).toBeDefined();
    }
    // Names that are no look-alike still work, and nothing was created by the refusals.
    expect((await createUser('heidi2')).status).toBe(201);
    expect((await ctx.server.request('GET', '/v1/users/HEIDI', { headers: bearer(ctx.token) })).status).toBe(404);
  });
});
