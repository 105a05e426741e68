import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { basic, bearer } from '../helpers/https-client.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/start-server.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Token rows in the real SQLite file: all of them, and those whose expiry has passed on the test clock. */
function tokenRows(server: TestServer): { all: number; expired: number } {
  const db = new Database(path.join(server.dataDir, 'hotcert.db'), { readonly: true });
  try {
    const all = (db.prepare('select count(*) as n from tokens').get() as { n: number }).n;
    const expired = (db.prepare('select count(*) as n from tokens where expires_at <= ?').get(server.clock.now) as { n: number }).n;
    return { all, expired };
  } finally {
    db.close();
  }
}

async function login(server: TestServer): Promise<string> {
  const res = await server.request('POST', '/v1/users/login', { headers: { Authorization: basic('admin', ADMIN_PASSWORD) } });
  expect(res.status).toBe(200);
  return res.json.users[0].token as string;
}

describe('expired login tokens are deleted', () => {
  it('by the next login', async () => {
    const server = await startTestServer({ via: 'app' });
    try {
      await server.adminToken();
      const old = [await login(server), await login(server)];
      expect(tokenRows(server).all).toBe(3);
      server.clock.advance(8 * DAY_MS);
      expect(tokenRows(server)).toEqual({ all: 3, expired: 3 });
      const fresh = await login(server);
      expect(tokenRows(server)).toEqual({ all: 1, expired: 0 });
      expect((await server.request('GET', '/v1/health', { headers: bearer(old[0]!) })).status).toBe(401);
      expect((await server.request('GET', '/v1/health', { headers: bearer(fresh) })).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('by a timer, on a server where nobody logs in', async () => {
    const server = await startTestServer({ via: 'app', start: { tokenPurgeIntervalMs: 50 } });
    try {
      await server.adminToken();
      await login(server);
      expect(tokenRows(server).all).toBe(2);
      server.clock.advance(8 * DAY_MS);
      const deadline = Date.now() + 10_000;
      while (tokenRows(server).all > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(tokenRows(server).all).toBe(0);
    } finally {
      await server.close();
    }
  });
});
