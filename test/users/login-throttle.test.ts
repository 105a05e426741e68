import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer } from '../helpers/https-client.js';
import { addressKey } from '../../src/address-key.js';
import { createLoginThrottleRepo } from '../../src/db/login-throttle-repo.js';
import { openDatabase } from '../../src/db/open-database.js';
import { createLoginThrottle } from '../../src/users/login-throttle.js';
import { runCli } from '../helpers/spawn-server.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/start-server.js';

const json = { 'Content-Type': 'application/json' };

/** Limits of the default throttle (README "Login throttling"). */
const PER_PAIR = 5;
const PER_ADDRESS = 20;

describe('login throttle: reserved before the password check, per (name, address) and per address', () => {
  let server: TestServer;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer();
    // Locks end only when the test says so, however slow the machine.
    server.clock.freeze();
    admin = await server.adminToken();
    const created = await server.request('POST', '/v1/users', {
      headers: { ...bearer(admin), ...json },
      body: JSON.stringify({ username: 'dave', password: 'Dave-Passw0rd!' }),
    });
    expect(created.status).toBe(201);
  });
  afterAll(() => server.close());

  const login = (from: string, user: string, password: string, agent?: https.Agent) =>
    server.request('POST', '/v1/users/login', { headers: { Authorization: basic(user, password) }, localAddress: from, agent });
  const audited = async () => {
    const res = await server.request('GET', '/v1/audit?limit=1000', { headers: bearer(admin) });
    expect(res.status).toBe(200);
    return res.json.audit as { action: string; actor: string; client_address: string; details: Record<string, unknown> }[];
  };

  it('a burst of 200 wrong passwords sent at once gets at most the limit of password checks', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 50, localAddress: '127.0.0.2' } as https.AgentOptions);
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, () => login('127.0.0.2', 'dave', 'Wrong-Passw0rd!', agent)));
      const statuses = answers.map((res) => res.status);
      // 401 is only ever answered after a password check; everything else must be 429.
      expect(statuses.filter((status) => status === 401)).toHaveLength(PER_PAIR);
      expect(statuses.filter((status) => status === 429)).toHaveLength(200 - PER_PAIR);
    } finally {
      agent.destroy();
    }
  });

  it('locks (name, address) and the address, never the right password from another address', async () => {
    // 127.0.0.3 locks itself out of admin, then out of every name.
    for (let i = 0; i < PER_PAIR; i++) expect((await login('127.0.0.3', 'admin', 'Wrong-Passw0rd!')).status).toBe(401);
    for (let i = PER_PAIR; i < PER_ADDRESS; i++) expect((await login('127.0.0.3', `ghost${i}`, 'Wrong-Passw0rd!')).status).toBe(401);
    const locked = await login('127.0.0.3', 'admin', ADMIN_PASSWORD);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login('127.0.0.3', 'someone-else', 'Wrong-Passw0rd!')).status).toBe(429);
    // The same name from another address: the right password still gets in (at most slightly delayed).
    expect((await login('127.0.0.4', 'admin', ADMIN_PASSWORD)).status).toBe(200);
  });

  it('counts look-alike names (case, white space, full-width letters) as the same name', async () => {
    for (const name of ['DAVE', ' dave', 'd ave', 'ｄａｖｅ', 'Ｄave\t']) expect((await login('127.0.0.5', name, 'Wrong-Passw0rd!')).status).toBe(401);
    expect((await login('127.0.0.5', 'dave', 'Dave-Passw0rd!')).status).toBe(429);
    expect((await login('127.0.0.6', 'dave', 'Dave-Passw0rd!')).status).toBe(200);
  });

  it('audits and logs failed logins and lockouts with the normalised name and the address, never the password', async () => {
    const secret = 'Very-Secret-Wr0ng!';
    for (let i = 0; i < PER_PAIR; i++) expect((await login('127.0.0.7', ' ＥＲＩＮ ', secret)).status).toBe(401);
    const rows = await audited();
    const failed = rows.filter((row) => row.action === 'user.login_failed' && row.client_address === '127.0.0.7');
    expect(failed).toHaveLength(PER_PAIR);
    expect(failed.every((row) => row.details.username === 'erin')).toBe(true);
    const lockouts = rows.filter((row) => row.action === 'user.login_locked' && row.client_address === '127.0.0.7');
    expect(lockouts).toHaveLength(1);
    expect(lockouts[0]!.details).toMatchObject({ username: 'erin', scope: ['pair'] });

    const lines = server.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    const logged = lines.filter((line) => line.event === 'user.login_failed' && line.client_address === '127.0.0.7');
    expect(logged).toHaveLength(PER_PAIR);
    expect(logged.every((line) => line.username === 'erin' && line.level === 'warn')).toBe(true);
    expect(lines.some((line) => line.event === 'user.login_locked' && line.client_address === '127.0.0.7' && line.username === 'erin')).toBe(true);
    expect(server.logs.join('\n')).not.toContain(secret);
    expect(JSON.stringify(rows)).not.toContain(secret);
  });

  it('hotcert reset-admin-password clears the counters of the running server', async () => {
    for (let i = 0; i < PER_PAIR; i++) await login('127.0.0.8', 'admin', 'Wrong-Passw0rd!');
    expect((await login('127.0.0.8', 'admin', ADMIN_PASSWORD)).status).toBe(429);

    const reset = runCli(['reset-admin-password', '--data-dir', server.dataDir]);
    expect(reset.status).toBe(0);
    const oneTime = /one-time password for admin: (\S+)/.exec(reset.stdout)?.[1];
    expect(oneTime).toBeDefined();

    const relogin = await server.request('POST', '/v1/users/login', {
      headers: { Authorization: basic('admin', oneTime!), ...json },
      body: JSON.stringify({ new_password: ADMIN_PASSWORD }),
      localAddress: '127.0.0.8',
    });
    expect(relogin.status).toBe(200);
    admin = relogin.json.users[0].token as string;
  });
});

describe('login throttle memory: bounded, oldest first, IPv6 per /64', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ start: { loginThrottle: { maxEntries: 12 } } });
    server.clock.freeze();
  });
  afterAll(() => server.close());

  const login = (from: string, user: string, password: string) =>
    server.request('POST', '/v1/users/login', { headers: { Authorization: basic(user, password) }, localAddress: from });

  it('ages the least recently used entries out instead of wiping every lock when full', async () => {
    // Each failure remembers (name, address), the address and the name: 3 entries for a new pair.
    for (let i = 0; i < PER_PAIR; i++) expect((await login('127.0.0.20', 'oldest', 'Wrong-Passw0rd!')).status).toBe(401);
    for (let i = 0; i < PER_PAIR; i++) expect((await login('127.0.0.21', 'newer', 'Wrong-Passw0rd!')).status).toBe(401);
    expect((await login('127.0.0.20', 'oldest', 'Wrong-Passw0rd!')).status).toBe(429);
    expect((await login('127.0.0.21', 'newer', 'Wrong-Passw0rd!')).status).toBe(429);
    // Four new names from one more address: 6 + 3 + 2 + 2 + 2 = 15 entries, 3 over the bound.
    for (const name of ['filler1', 'filler2', 'filler3', 'filler4']) expect((await login('127.0.0.22', name, 'Wrong-Passw0rd!')).status).toBe(401);
    // The three oldest entries (all of 127.0.0.20's) went; the newer lock is still there.
    expect((await login('127.0.0.21', 'newer', 'Wrong-Passw0rd!')).status).toBe(429);
    expect((await login('127.0.0.20', 'oldest', 'Wrong-Passw0rd!')).status).toBe(401);
  });

  it('counts an IPv6 client by its /64 and an IPv4-mapped address as the IPv4 one', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(addressKey('2001:db8:1:2::7')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:0001:0002:0:0:0:1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(addressKey('127.0.0.2')).toBe('127.0.0.2');
  });

  it('every address of one /64 shares the per-address counter', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hotcert-throttle-'));
    const db = openDatabase(path.join(dir, 'hotcert.db'));
    try {
      const throttle = createLoginThrottle({ store: createLoginThrottleRepo(db), clock: () => 0 });
      for (let i = 1; i <= 20; i++) {
        const attempt = await throttle.reserve(`user${i}`, `2001:db8:5:6::${i.toString(16)}`);
        expect(attempt.ok).toBe(true);
        if (attempt.ok) attempt.failed();
      }
      expect((await throttle.reserve('someone', '2001:db8:5:6:ffff::1')).ok).toBe(false);
      expect((await throttle.reserve('someone', '2001:db8:5:7::1')).ok).toBe(true);
    } finally {
      db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
