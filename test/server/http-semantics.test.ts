import { describe, expect, it } from 'vitest';
import { basic, bearer } from '../helpers/https-client.js';
import { useAdminServer } from '../helpers/start-server.js';

describe('HTTP semantics log collectors and clients rely on (real HTTPS)', () => {
  const ctx = useAdminServer();

  it('log lines carry the level name, not pino\'s number', async () => {
    await ctx.server.request('GET', '/v1/nothing-here');
    await ctx.server.request('POST', '/v1/users/login', { headers: { Authorization: basic('admin', 'Wrong-Passw0rd!') } });
    const levels = ctx.server.logs.map((line) => (JSON.parse(line) as { level: unknown }).level);
    expect(levels.length).toBeGreaterThan(3);
    for (const level of levels) expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(level);
    expect(ctx.server.logs.some((line) => line.includes('"level":"info"'))).toBe(true);
    expect(ctx.server.logs.some((line) => /"level":\d/.test(line))).toBe(false);
  });

  it('401 answers carry WWW-Authenticate: Basic for the login, Bearer for token routes', async () => {
    const noCredentials = await ctx.server.request('POST', '/v1/users/login');
    expect(noCredentials.status).toBe(401);
    expect(noCredentials.headers['www-authenticate']).toMatch(/^Basic realm="hotcert"/);
    const wrongPassword = await ctx.server.request('POST', '/v1/users/login', { headers: { Authorization: basic('nobody-here', 'Wrong-Passw0rd!') } });
    expect(wrongPassword.status).toBe(401);
    expect(wrongPassword.headers['www-authenticate']).toMatch(/^Basic realm="hotcert"/);

    for (const path of ['/v1/health', '/v1/certificates/external', '/v1/metrics', '/v1/users/admin']) {
      const none = await ctx.server.request('GET', path);
      expect(none.status, path).toBe(401);
      expect(none.headers['www-authenticate'], path).toBe('Bearer realm="hotcert"');
      expect(none.json.errors[0].code).toBe(1005);
    }
    const badToken = await ctx.server.request('GET', '/v1/health', { headers: bearer('not-a-token') });
    expect(badToken.status).toBe(401);
    expect(badToken.headers['www-authenticate']).toBe('Bearer realm="hotcert", error="invalid_token"');
    // Not on other answers.
    const ok = await ctx.server.request('GET', '/v1/health', { headers: bearer(ctx.token) });
    expect(ok.status).toBe(200);
    expect(ok.headers['www-authenticate']).toBeUndefined();
  });

  it('a known path with the wrong method answers 405 with Allow and the envelope; unknown paths stay 404', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/v1/health', 'GET, HEAD'],
      ['GET', '/v1/users/login', 'POST'],
      ['PUT', '/v1/users/logout', 'POST'],
      ['POST', '/v1/users/someone', 'DELETE, GET, HEAD, PUT'],
      ['PATCH', '/v1/certificates/external', 'DELETE, GET, HEAD, POST'],
      ['POST', '/v1/certificates/external/history', 'GET, HEAD'],
      ['PUT', '/v1/certificates/webhooks/ca', 'DELETE, GET, HEAD, POST'],
      ['POST', '/healthz', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await ctx.server.request(method, path, { headers: bearer(ctx.token) });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.allow, `${method} ${path}`).toBe(allow);
      expect(res.json.errors).toHaveLength(1);
      expect(res.json.errors[0].details).toContain(`${method} is not allowed on ${path}`);
      expect(res.json.meta.api_status).toBe('stable');
    }
    // Without a token too: the method is wrong whoever asks.
    expect((await ctx.server.request('DELETE', '/v1/health')).status).toBe(405);
    for (const [method, path] of [['GET', '/v1/nothing'], ['DELETE', '/v1/nothing'], ['GET', '/v1/users/someone/else'], ['GET', '/v2/health']]) {
      const res = await ctx.server.request(method!, path!, { headers: bearer(ctx.token) });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.allow).toBeUndefined();
      expect(res.json.errors[0].code).toBe(1006);
    }
    // The routes themselves still work.
    expect((await ctx.server.request('GET', '/v1/users/admin', { headers: bearer(ctx.token) })).status).toBe(200);
    expect((await ctx.server.request('GET', '/v1/certificates/external', { headers: bearer(ctx.token) })).status).toBe(200);
  });
});
