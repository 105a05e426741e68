import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, request } from '../helpers/https-client.js';
import { runCli, spawnServer, type SpawnedServer } from '../helpers/spawn-server.js';
import { ADMIN_PASSWORD } from '../helpers/start-server.js';

/** The default per (name, address) limit (README "Login throttling"). */
const PER_PAIR = 5;
const BURST = 60;

describe('login throttle shared by two server processes on one SQLite file', () => {
  const servers: SpawnedServer[] = [];
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-shared-throttle-'));
    // The first creates the database; the second opens it (two processes, two ports, one data directory).
    servers.push(await spawnServer({ DATA_DIR: dataDir, ADMIN_PASSWORD }));
    servers.push(await spawnServer({ DATA_DIR: dataDir, ADMIN_PASSWORD }));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop('SIGTERM')));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const login = (server: SpawnedServer, from: string, password: string, body?: string) =>
    request(server.port, 'POST', '/v1/users/login', {
      headers: { Authorization: basic('admin', password), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body,
      localAddress: from,
    });

  /** Rows as the database holds them (read, never written, by the test). */
  const read = <T>(query: string, ...params: unknown[]): T[] => {
    const db = new Database(path.join(dataDir, 'hotcert.db'), { readonly: true });
    try {
      return db.prepare(query).all(...params) as T[];
    } finally {
      db.close();
    }
  };
  const counters = () => read<{ key: string; failures: number; locked_until: number }>('select key, failures, locked_until from login_throttle');
  /** Lockouts are audited before the 401 that started them is answered. */
  const lockouts = (address: string) =>
    read<{ details_json: string }>("select details_json from audit_log where action = 'user.login_locked' and client_address = ?", address).map(
      (row) => JSON.parse(row.details_json) as { scope: string[]; lock_seconds: number },
    );

  it('a burst split over both processes gets the limit of password checks in total, not per process', async () => {
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: BURST }, (_, i) => login(servers[i % 2]!, '127.0.0.9', 'Wrong-Passw0rd!')));
    const elapsedMs = performance.now() - started;
    const checked = answers.filter((res) => res.status === 401).length;
    expect(answers.filter((res) => res.status === 429)).toHaveLength(BURST - checked);
    // Checks past the limit are only those that came after a lock (1 s, 2 s, 4 s, ...) had run out:
    // every one of them started the next lock, and the burst lasted at least as long as the locks before the last.
    const locks = lockouts('127.0.0.9').filter((entry) => entry.scope.includes('pair')).map((entry) => entry.lock_seconds).sort((a, b) => a - b);
    expect(checked).toBeGreaterThanOrEqual(PER_PAIR);
    expect(locks).toHaveLength(checked - PER_PAIR + 1);
    expect(locks.slice(0, -1).reduce((sum, seconds) => sum + seconds * 1000, 0)).toBeLessThanOrEqual(elapsedMs);
    expect(counters().find((row) => row.key === 'pair:127.0.0.9\nadmin')?.failures).toBe(checked);
    // Another address still gets in, on either process.
    for (const server of servers) expect((await login(server, '127.0.0.10', ADMIN_PASSWORD)).status).toBe(200);
  });

  it('failures on one process and on the other count together', async () => {
    for (let i = 0; i < PER_PAIR - 1; i++) expect((await login(servers[i % 2]!, '127.0.0.11', 'Wrong-Passw0rd!')).status).toBe(401);
    expect(lockouts('127.0.0.11')).toHaveLength(0);
    expect(counters().find((row) => row.key === 'pair:127.0.0.11\nadmin')?.failures).toBe(PER_PAIR - 1);
    // The fifth failure, on the process that saw only two of the first four, starts the lock.
    expect((await login(servers[1]!, '127.0.0.11', 'Wrong-Passw0rd!')).status).toBe(401);
    expect(lockouts('127.0.0.11')).toEqual([expect.objectContaining({ scope: ['pair'] })]);
    const row = counters().find((entry) => entry.key === 'pair:127.0.0.11\nadmin');
    expect(row?.failures).toBe(PER_PAIR);
    expect(row?.locked_until).toBeGreaterThan(0);
  });

  it('hotcert reset-admin-password clears the counters of both processes', async () => {
    expect(counters().length).toBeGreaterThan(0);
    const reset = runCli(['reset-admin-password', '--json', '--data-dir', dataDir]);
    expect(reset.status).toBe(0);
    expect(counters()).toEqual([]);
    const oneTime = (JSON.parse(reset.stdout) as { password: string }).password;
    expect((await login(servers[1]!, '127.0.0.9', oneTime, JSON.stringify({ new_password: ADMIN_PASSWORD }))).status).toBe(200);
    expect((await login(servers[0]!, '127.0.0.11', ADMIN_PASSWORD)).status).toBe(200);
  });
});
