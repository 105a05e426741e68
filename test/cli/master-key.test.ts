import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, bearer, peerCertificate, request } from '../helpers/https-client.js';
import { createChain, type TestChain, leafFingerprint as fp } from '../helpers/pki.js';
import { freePort, runCli, spawnServer } from '../helpers/spawn-server.js';
import { waitFor } from '../helpers/wait.js';

function versionCount(dir: string): number {
  const db = new Database(path.join(dir, 'hotcert.db'), { readonly: true });
  try {
    return (db.prepare('select count(*) as n from certificate_versions').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** `hotcert serve` that is expected to refuse to start: its exit code and stderr (a server that starts is killed by the timeout). */
async function serveOnce(env: Record<string, string>) {
  return runCli(['serve'], { HOST: '127.0.0.1', PORT: String(await freePort()), ...env });
}

const oneLine = (text: string) => text.trim().split('\n');

// Several processes per test; on a busy machine one start takes seconds. A safety net, not a budget.
describe('the master key is checked against the database before anything is written (real processes)', { timeout: 120_000 }, () => {
  let dir: string;
  let files: string;
  let good: TestChain;
  let other: TestChain;
  const key = randomBytes(32).toString('base64');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-mk-'));
    files = mkdtempSync(path.join(os.tmpdir(), 'hotcert-mk-files-'));
    [good, other] = await Promise.all([createChain(), createChain()]);
    writeFileSync(path.join(files, 'good.pem'), good.bundle);
    writeFileSync(path.join(files, 'other.pem'), other.bundle);
    writeFileSync(path.join(files, 'key.txt'), key + '\n');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(files, { recursive: true, force: true });
  });

  it('import without the server MASTER_KEY, or with another key, exits 2 in one line, creates no master.key and stores nothing', async () => {
    const server = await spawnServer({ DATA_DIR: dir, MASTER_KEY: key });
    try {
      const served = server.listening.fingerprint_sha256 as string;
      expect(existsSync(path.join(dir, 'master.key'))).toBe(false);
      const before = versionCount(dir);

      const withoutKey = runCli(['import', path.join(files, 'good.pem'), '--data-dir', dir]);
      expect(withoutKey.status).toBe(2);
      expect(oneLine(withoutKey.stderr)).toHaveLength(1);
      expect(withoutKey.stderr).toMatch(/master key/i);
      expect(existsSync(path.join(dir, 'master.key'))).toBe(false);

      const wrongKey = runCli(['import', path.join(files, 'good.pem'), '--data-dir', dir], { MASTER_KEY: randomBytes(32).toString('base64') });
      expect(wrongKey.status).toBe(2);
      expect(oneLine(wrongKey.stderr)).toHaveLength(1);
      expect(wrongKey.stderr).toMatch(/master key/i);
      expect(runCli(['reset-certificate', '--data-dir', dir]).status).toBe(2);
      expect(runCli(['reset-admin-password', '--data-dir', dir]).status).toBe(2);

      // status only reads: it needs no key and creates none.
      const status = runCli(['status', '--json', '--data-dir', dir]);
      expect(status.status).toBe(0);
      expect(JSON.parse(status.stdout).certificate.fingerprint_sha256).toBe(served);

      expect(versionCount(dir)).toBe(before);
      expect(existsSync(path.join(dir, 'master.key'))).toBe(false);
      expect((await peerCertificate(server.port)).fingerprint).toBe(served);
      const health = await request(server.port, 'GET', '/v1/health', { headers: bearer(await adminToken(server.port)) });
      expect(health.json.health.certificate).toMatchObject({ status: 'ok', fingerprint_sha256: served });

      // MASTER_KEY_FILE with the same key (a trailing newline, as `echo` writes it) is the same key: accepted and served.
      const viaFile = runCli(['import', path.join(files, 'good.pem'), '--data-dir', dir], { MASTER_KEY_FILE: path.join(files, 'key.txt') });
      expect(viaFile.stderr).toBe('');
      expect(viaFile.status).toBe(0);
      await waitFor(() => peerCertificate(server.port), (peer) => peer.fingerprint === fp(good), 30_000);
    } finally {
      await server.stop();
    }
  });

  it('the server refuses to start with another key, or with none, in one line with exit code 2, and creates no master.key', async () => {
    const wrong = await serveOnce({ DATA_DIR: dir, MASTER_KEY: randomBytes(32).toString('base64') });
    expect(wrong.status).toBe(2);
    expect(oneLine(wrong.stderr)).toHaveLength(1);
    expect(wrong.stderr).toMatch(/^hotcert: .*master key/i);
    const none = await serveOnce({ DATA_DIR: dir });
    expect(none.status).toBe(2);
    expect(oneLine(none.stderr)).toHaveLength(1);
    expect(existsSync(path.join(dir, 'master.key'))).toBe(false);
  });

  it('MASTER_KEY_FILE serves as MASTER_KEY; setting both, or a bad file, is a configuration error', async () => {
    const server = await spawnServer({ DATA_DIR: dir, MASTER_KEY_FILE: path.join(files, 'key.txt') });
    try {
      expect((await peerCertificate(server.port)).fingerprint).toBe(fp(good));
      const imported = runCli(['import', path.join(files, 'other.pem'), '--data-dir', dir], { MASTER_KEY: key });
      expect(imported.status).toBe(0);
      await waitFor(() => peerCertificate(server.port), (peer) => peer.fingerprint === fp(other), 30_000);
    } finally {
      await server.stop();
    }
    const both = await serveOnce({ DATA_DIR: dir, MASTER_KEY: key, MASTER_KEY_FILE: path.join(files, 'key.txt') });
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/MASTER_KEY or MASTER_KEY_FILE, not both/);
    const missing = runCli(['status', '--data-dir', dir], { MASTER_KEY_FILE: path.join(files, 'absent.txt') });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/MASTER_KEY_FILE .*absent\.txt/);
    writeFileSync(path.join(files, 'short.txt'), 'c2hvcnQ=\n');
    expect(runCli(['status', '--data-dir', dir], { MASTER_KEY_FILE: path.join(files, 'short.txt') }).status).toBe(2);
  });

  it('a data directory without a check value gets one from the first process (its master.key), and keeps it', async () => {
    const fresh = mkdtempSync(path.join(os.tmpdir(), 'hotcert-mk-fresh-'));
    try {
      expect(runCli(['import', path.join(files, 'good.pem'), '--data-dir', fresh]).status).toBe(0);
      expect(existsSync(path.join(fresh, 'master.key'))).toBe(true);
      const db = new Database(path.join(fresh, 'hotcert.db'), { readonly: true });
      const row = db.prepare("select value from settings where name = 'master_key_check'").get() as { value: Buffer } | undefined;
      db.close();
      expect(row?.value.length).toBe(32);
      // Another key (MASTER_KEY now set) is refused on this directory.
      const refused = runCli(['import', path.join(files, 'other.pem'), '--data-dir', fresh], { MASTER_KEY: key });
      expect(refused.status).toBe(2);
      expect(versionCount(fresh)).toBe(1);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
