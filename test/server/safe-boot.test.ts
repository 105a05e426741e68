import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { seal } from '../../src/secrets/seal.js';
import { basic, bearer, peerCertificate, request } from '../helpers/https-client.js';
import { createChain, leafFingerprint as fp } from '../helpers/pki.js';
import { spawnServer, type SpawnedServer } from '../helpers/spawn-server.js';
import { ADMIN_PASSWORD, startTestServer } from '../helpers/start-server.js';

/** A data directory with version 1 (default), 2 (chain a) and 3 (chain b, active). */
async function prepareTemplate() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-boot-'));
  const server = await startTestServer({ dataDir });
  const token = await server.adminToken();
  const a = await createChain();
  const b = await createChain();
  expect((await server.upload(a.bundle, token)).status).toBe(201);
  expect((await server.upload(b.bundle, token)).status).toBe(201);
  const v1 = (await server.request('GET', '/v1/certificates/external/history', { headers: bearer(token) })).json.certificates.at(-1).fingerprint_sha256 as string;
  await server.close({ keepData: true });
  return { dataDir, a, b, v1 };
}

let template: Promise<Awaited<ReturnType<typeof prepareTemplate>>> | undefined;
afterAll(async () => {
  if (template) rmSync((await template).dataDir, { recursive: true, force: true });
});

/**
 * A copy of one prepared data directory (made by a server that closed cleanly) for each test to damage: the
 * same starting point as preparing it again every time, without a server start, a login and two uploads each.
 */
async function prepareDataDir() {
  const prepared = await (template ??= prepareTemplate());
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-boot-'));
  cpSync(prepared.dataDir, dataDir, { recursive: true });
  return { ...prepared, dataDir };
}

function damage(dataDir: string, sql: string, ...params: unknown[]) {
  const db = new Database(path.join(dataDir, 'hotcert.db'));
  db.prepare(sql).run(...params);
  db.close();
}

async function health(port: number) {
  const login = await request(port, 'POST', '/v1/users/login', { headers: { Authorization: basic('admin', ADMIN_PASSWORD) } });
  const token = login.json.users[0].token as string;
  return (await request(port, 'GET', '/v1/health', { headers: bearer(token) })).json.health.certificate;
}

function auditActions(dataDir: string): string[] {
  const db = new Database(path.join(dataDir, 'hotcert.db'), { readonly: true });
  const rows = db.prepare('select action from audit_log order by id').all() as { action: string }[];
  db.close();
  return rows.map((row) => row.action);
}

describe('safe boot: a damaged active version never stops the server (real processes)', () => {
  let running: SpawnedServer | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await running?.stop('SIGKILL');
    running = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['a corrupted certificate row', 'update certificate_versions set cert_pem = ? where version = 3', 'garbage'],
    ['a damaged ciphertext', 'update certificate_versions set key_sealed = randomblob(length(key_sealed)) where version = 3'],
    ['an unparseable chain column', 'update certificate_versions set chain_pem = ? where version = 3', '{not json'],
  ])('falls back to the previous version after %s', async (_name, sql, ...params) => {
    const prepared = await prepareDataDir();
    dir = prepared.dataDir;
    damage(dir, sql, ...params);
    running = await spawnServer({ DATA_DIR: dir });
    expect((await peerCertificate(running.port)).fingerprint).toBe(fp(prepared.a));
    const status = await health(running.port);
    expect(status.status).toBe('fallback');
    expect(status.reason).toMatch(/version 3/);
    expect(running.logs.some((entry) => entry.event === 'certificate.unusable')).toBe(true);
    expect(auditActions(dir)).toContain('certificate.fallback');
  });

  it('falls back when the key no longer matches the certificate', async () => {
    const prepared = await prepareDataDir();
    dir = prepared.dataDir;
    const masterKey = Buffer.from(readFileSync(path.join(dir, 'master.key'), 'utf8').trim(), 'base64');
    // A correctly sealed key that belongs to another certificate.
    damage(dir, 'update certificate_versions set key_sealed = ? where version = 3', seal(masterKey, prepared.a.leaf.keyPem, fp(prepared.b)));
    running = await spawnServer({ DATA_DIR: dir });
    expect((await peerCertificate(running.port)).fingerprint).toBe(fp(prepared.a));
    expect((await health(running.port)).reason).toMatch(/does not match/);
  });

  it('creates a new self-signed default when no version can be decrypted', async () => {
    const prepared = await prepareDataDir();
    dir = prepared.dataDir;
    // What a wrong master key used to cause; a wrong key itself is now refused at start (test/cli/master-key.test.ts).
    damage(dir, "update certificate_versions set key_sealed = x'01' || randomblob(length(key_sealed) - 1)");
    running = await spawnServer({ DATA_DIR: dir });
    const peer = await peerCertificate(running.port);
    expect([fp(prepared.a), fp(prepared.b), prepared.v1]).not.toContain(peer.fingerprint);
    const status = await health(running.port);
    expect(status).toMatchObject({ status: 'fallback', version: 4, fingerprint_sha256: peer.fingerprint });
    expect(status.reason).toMatch(/decrypt/);
  });

  it('clears the fallback status once an admin uploads', async () => {
    const prepared = await prepareDataDir();
    dir = prepared.dataDir;
    damage(dir, 'update certificate_versions set cert_pem = ? where version = 3', 'garbage');
    running = await spawnServer({ DATA_DIR: dir });
    const login = await request(running.port, 'POST', '/v1/users/login', { headers: { Authorization: basic('admin', ADMIN_PASSWORD) } });
    const token = login.json.users[0].token as string;
    const fresh = await createChain();
    const res = await request(running.port, 'POST', '/v1/certificates/external', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body: fresh.bundle });
    expect(res.status).toBe(201);
    expect((await health(running.port)).status).toBe('ok');
  });
});

describe('expiry (injected clock)', () => {
  it('reports expiring within 30 days, then keeps serving an expired certificate loudly, also across a restart', async () => {
    const server = await startTestServer();
    try {
      const token = await server.adminToken();
      const chain = await createChain({ leaf: { notAfter: new Date(Date.now() + 20 * 86400_000) } });
      const res = await server.upload(chain.bundle, token);
      expect(res.status).toBe(201);
      const status = async () => (await server.request('GET', '/v1/health', { headers: bearer(await server.adminToken()) })).json.health.certificate;
      expect((await status()).status).toBe('expiring');
      await server.hotcert.services.certificates.checkExpiry();
      expect(server.logs.some((line) => line.includes('"event":"certificate.expiring"'))).toBe(true);

      server.clock.advance(25 * 86400_000);
      await server.restart();
      expect((await peerCertificate(server.port)).fingerprint).toBe(fp(chain));
      expect((await status()).status).toBe('expired');
      expect(server.logs.some((line) => line.includes('"event":"certificate.expired"'))).toBe(true);
      const metrics = await server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(await server.adminToken()) });
      expect(metrics.text).toMatch(/^hotcert_certificate_expired 1$/m);
    } finally {
      await server.close();
    }
  });

  it('warns once at 30, 14, 7 and 1 days before expiry', async () => {
    const server = await startTestServer();
    try {
      const token = await server.adminToken();
      const chain = await createChain({ leaf: { notAfter: new Date(Date.now() + 40 * 86400_000) } });
      expect((await server.upload(chain.bundle, token)).status).toBe(201);
      const warnings = () =>
        server.logs.map((line) => JSON.parse(line)).filter((entry) => entry.event === 'certificate.expiring').map((entry) => entry.days_left as number);
      const { certificates } = server.hotcert.services;
      await certificates.checkExpiry();
      expect(warnings()).toEqual([]);
      for (const daysLeft of [29.5, 13.5, 6.5, 0.5]) {
        server.clock.advance(40 * 86400_000 - daysLeft * 86400_000 - (server.clock.now - Date.now()));
        await certificates.checkExpiry();
        await certificates.checkExpiry();
      }
      expect(warnings()).toEqual([29, 13, 6, 0]);
    } finally {
      await server.close();
    }
  });
});
