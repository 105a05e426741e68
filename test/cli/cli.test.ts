import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer, peerCertificate, request } from '../helpers/https-client.js';
import { createChain, pemBundle, type TestChain } from '../helpers/pki.js';
import { runCli, spawnServer } from '../helpers/spawn-server.js';

const fp = (chain: TestChain) => chain.leaf.cert.fingerprint256.replaceAll(':', '').toLowerCase();

async function waitFor<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (accept(value)) return { value, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the hotcert command', () => {
  let dir: string;
  let files: string;
  let good: TestChain;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-cli-'));
    files = mkdtempSync(path.join(os.tmpdir(), 'hotcert-cli-files-'));
    good = await createChain();
    writeFileSync(path.join(files, 'good.pem'), good.bundle);
    writeFileSync(path.join(files, 'bad.pem'), pemBundle(good.leaf.keyPem, good.leaf.certPem));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(files, { recursive: true, force: true });
  });

  it('prints help and rejects unknown commands and missing files with exit code 2', () => {
    const help = runCli(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['serve', 'status', 'check FILE', 'import FILE', 'reset-certificate', 'reset-admin-password']) expect(help.stdout).toContain(command);
    expect(runCli(['frobnicate']).status).toBe(2);
    expect(runCli(['check']).status).toBe(2);
    expect(runCli(['check', path.join(files, 'missing.pem')]).status).toBe(2);
  });

  it('check validates exactly as the upload endpoint does: exit 0 / 1 and the report', () => {
    const ok = runCli(['check', path.join(files, 'good.pem')]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(fp(good));
    const bad = runCli(['check', path.join(files, 'bad.pem')]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/error \[chain-missing-intermediate\]/);
    expect(bad.stdout + bad.stderr).not.toContain(good.leaf.keyPem.split('\n')[1]);
    const json = runCli(['check', '--json', path.join(files, 'bad.pem')]);
    expect(JSON.parse(json.stdout).ok).toBe(false);
  });

  it('read-only commands (status, check) never create a data directory, a database or a key', () => {
    const missing = path.join(files, 'no-such-dir');
    const status = runCli(['status', '--data-dir', missing]);
    expect(status.status).toBe(2);
    expect(status.stderr.trim().split('\n')).toHaveLength(1);
    expect(status.stderr).toContain(`${missing} does not exist`);
    expect(existsSync(missing)).toBe(false);
    expect(runCli(['status', '--json'], { DATA_DIR: missing }).status).toBe(2);
    expect(existsSync(missing)).toBe(false);

    const empty = path.join(files, 'empty-dir');
    mkdirSync(empty);
    const noDb = runCli(['status', '--data-dir', empty]);
    expect(noDb.status).toBe(2);
    expect(noDb.stderr.trim().split('\n')).toHaveLength(1);
    expect(noDb.stderr).toMatch(/hotcert\.db/);
    expect(readdirSync(empty)).toEqual([]);

    expect(runCli(['check', path.join(files, 'good.pem'), '--data-dir', missing]).status).toBe(0);
    expect(existsSync(missing)).toBe(false);
  });

  it('works on a stopped server: import, status, reset-certificate', () => {
    const imported = runCli(['import', path.join(files, 'good.pem'), '--data-dir', dir]);
    expect(imported.status).toBe(0);
    expect(imported.stdout).toMatch(/version 1/);
    const status = runCli(['status', '--data-dir', dir]);
    expect(status.status).toBe(0);
    expect(status.stdout).toContain(fp(good));
    expect(status.stdout).toMatch(/source: import/);
    expect(status.stdout).toMatch(/sans:\s+localhost, 127\.0\.0\.1/);
    const json = JSON.parse(runCli(['status', '--json', '--data-dir', dir]).stdout);
    expect(json.certificate).toMatchObject({ version: 1, fingerprint_sha256: fp(good), source: 'import' });
    const rejected = runCli(['import', path.join(files, 'bad.pem'), '--data-dir', dir]);
    expect(rejected.status).toBe(1);
    expect(rejected.stderr).toMatch(/^error: /m);
    const reset = runCli(['reset-certificate', '--data-dir', dir]);
    expect(reset.status).toBe(0);
    expect(JSON.parse(runCli(['status', '--json', '--data-dir', dir]).stdout).certificate).toMatchObject({ version: 2, source: 'default' });
  });

  it('changes a running server: import and reset-certificate are served within 1 s; reset-admin-password forces a change', async () => {
    const server = await spawnServer({ DATA_DIR: dir });
    try {
      const imported = runCli(['import', path.join(files, 'good.pem'), '--data-dir', dir]);
      expect(imported.status).toBe(0);
      const seen = await waitFor(() => peerCertificate(server.port), (peer) => peer.fingerprint === fp(good), 1500);
      expect(seen.ms).toBeLessThan(1000);

      expect(runCli(['reset-certificate', '--data-dir', dir]).status).toBe(0);
      const status = JSON.parse(runCli(['status', '--json', '--data-dir', dir]).stdout);
      await waitFor(() => peerCertificate(server.port), (peer) => peer.fingerprint === status.certificate.fingerprint_sha256, 1000);

      const reset = runCli(['reset-admin-password', '--data-dir', dir]);
      expect(reset.status).toBe(0);
      const password = /one-time password for admin: (\S+)/.exec(reset.stdout)![1]!;
      const plain = await request(server.port, 'POST', '/v1/users/login', { headers: { Authorization: basic('admin', password) } });
      expect(plain.status).toBe(400);
      expect(plain.json.errors[0].code).toBe(1024);
      const changed = await request(server.port, 'POST', '/v1/users/login', {
        headers: { Authorization: basic('admin', password), 'Content-Type': 'application/json' },
        body: JSON.stringify({ new_password: 'After-Reset-1!' }),
      });
      expect(changed.status).toBe(200);
      const audit = await request(server.port, 'GET', '/v1/audit?limit=50', { headers: bearer(changed.json.users[0].token) });
      const actions = audit.json.audit.filter((row: any) => row.actor === 'cli').map((row: any) => row.action);
      expect(actions).toEqual(expect.arrayContaining(['certificate.import', 'certificate.reset', 'user.password_reset']));
    } finally {
      await server.stop();
    }
  });
});
