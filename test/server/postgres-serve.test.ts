import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, bearer, peerCertificate, request } from '../helpers/https-client.js';
import { createChain, leafFingerprint as fp } from '../helpers/pki.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { freePort, runCli, servedByEveryProcess, spawnServer, type SpawnedServer } from '../helpers/spawn-server.js';

/** `hotcert serve` expected to refuse to start: exit code and stderr (one that starts is killed by runCli's timeout). */
async function serveOnce(env: Record<string, string>) {
  return runCli(['serve'], { HOST: '127.0.0.1', PORT: String(await freePort()), ...env });
}

const lines = (text: string) => text.trim().split('\n');

describe('hotcert serve on PostgreSQL (DATABASE_URL), real processes', () => {
  let server: TestPostgres;
  const key = randomBytes(32).toString('base64');
  const started: SpawnedServer[] = [];
  const dirs: string[] = [];
  const newDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-pg-serve-'));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    server = await startPostgres();
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((process) => process.stop('SIGKILL')));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('an upload on one instance is served by another on its own DATA_DIR; a token from one works on the other', async () => {
    const url = await server.createDatabase();
    const [dirA, dirB] = [newDir(), newDir()];
    const a = await spawnServer({ DATA_DIR: dirA, DATABASE_URL: url, MASTER_KEY: key });
    started.push(a);
    const b = await spawnServer({ DATA_DIR: dirB, DATABASE_URL: url, MASTER_KEY: key });
    started.push(b);
    // Both serve the one default identity the first instance stored.
    expect(b.listening.fingerprint_sha256).toBe(a.listening.fingerprint_sha256);

    const token = await adminToken(a.port);
    const chain = await createChain();
    const uploaded = await request(a.port, 'POST', '/v1/certificates/external', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body: chain.bundle });
    expect(uploaded.status).toBe(201);
    await servedByEveryProcess(b, fp(chain));
    expect((await peerCertificate(b.port)).fingerprint).toBe(fp(chain));

    // Users and tokens are in the database: B accepts A's token.
    const seenByB = await request(b.port, 'GET', '/v1/certificates/external', { headers: bearer(token) });
    expect(seenByB.status).toBe(200);
    expect(seenByB.text).toContain(fp(chain));
    expect((await request(b.port, 'GET', '/v1/certificates/external', { headers: bearer('not-' + token) })).status).toBe(401);

    // The database holds what was served; no instance kept the database or a key file in its DATA_DIR.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const active = await client.query('SELECT v.fingerprint_sha256 AS fp FROM service_state s JOIN certificate_versions v ON v.version = s.active_version');
      expect(active.rows[0]).toEqual({ fp: fp(chain) });
    } finally {
      await client.end();
    }
    for (const dir of [dirA, dirB]) {
      expect(existsSync(path.join(dir, 'master.key'))).toBe(false);
      expect(existsSync(path.join(dir, 'hotcert.db'))).toBe(false);
    }
  });

  it('refuses to start with a master key that is not the fleet one, or without one: one line, exit 2, nothing written', async () => {
    const url = await server.createDatabase();
    const first = await spawnServer({ DATA_DIR: newDir(), DATABASE_URL: url, MASTER_KEY: key });
    started.push(first);

    const wrong = await serveOnce({ DATA_DIR: newDir(), DATABASE_URL: url, MASTER_KEY: randomBytes(32).toString('base64') });
    expect(wrong.status).toBe(2);
    expect(lines(wrong.stderr)).toHaveLength(1);
    expect(wrong.stderr).toMatch(/MASTER_KEY .*not the key this fleet's database/);

    const dir = newDir();
    const missing = await serveOnce({ DATA_DIR: dir, DATABASE_URL: url });
    expect(missing.status).toBe(2);
    expect(lines(missing.stderr)).toHaveLength(1);
    expect(missing.stderr).toContain('DATABASE_URL (PostgreSQL) needs MASTER_KEY or MASTER_KEY_FILE');
    expect(existsSync(path.join(dir, 'master.key'))).toBe(false);

    // The fleet's instance was not disturbed.
    expect((await peerCertificate(first.port)).fingerprint).toBe(first.listening.fingerprint_sha256);
  });

  it('refuses a DATABASE_URL that is not postgres:// without quoting it, and an unreachable server with one line', async () => {
    const password = 'pw-' + randomBytes(6).toString('hex');
    const scheme = await serveOnce({ DATA_DIR: newDir(), DATABASE_URL: `mysql://u:${password}@127.0.0.1/db`, MASTER_KEY: key });
    expect(scheme.status).toBe(2);
    expect(lines(scheme.stderr)).toEqual(['hotcert: DATABASE_URL must start with postgres:// or postgresql://, not mysql://']);

    const sslmode = await serveOnce({ DATA_DIR: newDir(), DATABASE_URL: `postgres://u:${password}@127.0.0.1/db?sslmode=sometimes`, MASTER_KEY: key });
    expect(sslmode.status).toBe(2);
    expect(sslmode.stderr).toContain('sslmode must be one of disable, prefer, require, verify-ca, verify-full');
    expect(sslmode.stderr).not.toContain(password);

    const unreachable = await serveOnce({ DATA_DIR: newDir(), DATABASE_URL: `postgres://u:${password}@127.0.0.1:${await freePort()}/db`, MASTER_KEY: key });
    expect(unreachable.status).toBe(2);
    expect(lines(unreachable.stderr)).toHaveLength(1);
    expect(unreachable.stderr).toContain('the PostgreSQL server cannot be reached');
    expect(unreachable.stderr).not.toContain(password);

    const real = new URL(await server.createDatabase());
    real.password = password;
    const refused = await serveOnce({ DATA_DIR: newDir(), DATABASE_URL: real.toString(), MASTER_KEY: key });
    expect(refused.status).toBe(2);
    expect(lines(refused.stderr)).toEqual(['hotcert: DATABASE_URL: PostgreSQL refused to start hotcert: password authentication failed (SQLSTATE 28P01)']);
  });

  it('the CLI works on the fleet database: an import is served by a running instance, status reads it with no local database', async () => {
    const url = await server.createDatabase();
    const a = await spawnServer({ DATA_DIR: newDir(), DATABASE_URL: url, MASTER_KEY: key });
    started.push(a);
    const chain = await createChain();
    const bundle = path.join(newDir(), 'bundle.pem');
    writeFileSync(bundle, chain.bundle);
    const imported = runCli(['import', bundle, '--json'], { DATA_DIR: newDir(), DATABASE_URL: url, MASTER_KEY: key });
    expect(imported.stderr).toBe('');
    expect(imported.status).toBe(0);
    await servedByEveryProcess(a, fp(chain));
    expect((await peerCertificate(a.port)).fingerprint).toBe(fp(chain));

    const status = runCli(['status', '--json'], { DATA_DIR: path.join(newDir(), 'never-created'), DATABASE_URL: url, MASTER_KEY: key });
    expect(status.stderr).toBe('');
    expect(status.status).toBe(0);
    expect(status.stdout).toContain(fp(chain));
  });
});
