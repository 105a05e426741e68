import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createLastKnownGood, LAST_KNOWN_GOOD_FILE } from '../../src/certificates/last-known-good.js';
import { bearer, peerCertificate } from '../helpers/https-client.js';
import { createChain, leafFingerprint as fp } from '../helpers/pki.js';
import { runCli } from '../helpers/spawn-server.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait.js';

/** What the file in DATA_DIR says, read the way a degraded boot reads it. */
function stored(server: TestServer) {
  const file = createLastKnownGood({ dataDir: server.dataDir, logger: pino({ level: 'silent' }) });
  const loaded = file.load(server.hotcert.services.masterKey);
  if ('problem' in loaded) throw new Error(loaded.problem);
  return loaded;
}

describe('last-known-good: every version this instance serves is kept in its DATA_DIR', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('follows boot, upload, rollback, reset and a change committed by another process; owner-only, key sealed', async () => {
    const files = mkdtempSync(path.join(os.tmpdir(), 'hotcert-lkg-files-'));
    dirs.push(files);
    const server = await startTestServer({ start: { lastKnownGood: true } });
    dirs.push(server.dataDir);
    const file = path.join(server.dataDir, LAST_KNOWN_GOOD_FILE);
    const current = async () => {
      await server.hotcert.services.lastKnownGood!.flushed();
      return stored(server);
    };
    try {
      const token = await server.adminToken();
      const booted = await current();
      expect(booted.entry.row.fingerprint).toBe((await peerCertificate(server.port)).fingerprint);
      expect(statSync(file).mode & 0o777).toBe(0o600);

      const [a, b] = await Promise.all([createChain(), createChain()]);
      expect((await server.upload(a.bundle, token)).status).toBe(201);
      const uploaded = await current();
      expect(uploaded.identity.fingerprint).toBe(fp(a));
      expect(new X509Certificate(uploaded.identity.certPem).checkPrivateKey(createPrivateKey(uploaded.identity.keyPem))).toBe(true);
      expect(uploaded.entry.row.version).toBe(2);
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(a.leaf.keyPem.split('\n')[1]);

      expect((await server.request('POST', '/v1/certificates/external/rollback', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(200);
      expect((await current()).entry.row.fingerprint).toBe(booted.entry.row.fingerprint);
      expect((await server.request('DELETE', '/v1/certificates/external', { headers: bearer(token) })).status).toBe(200);
      const reset = await current();
      expect(reset.entry.row.source).toBe('default');
      expect(reset.entry.row.fingerprint).toBe((await peerCertificate(server.port)).fingerprint);

      // Another process (the CLI here, another instance on PostgreSQL) commits; this one applies it by sync and keeps it.
      writeFileSync(path.join(files, 'b.pem'), b.bundle);
      expect(runCli(['import', path.join(files, 'b.pem'), '--data-dir', server.dataDir]).status).toBe(0);
      await waitFor(current, (loaded) => loaded.identity.fingerprint === fp(b), 15_000);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      await server.close({ keepData: true });
    }
  });

  it('a damaged or foreign file is reported, never served; without the option (SQLite) no file is written', async () => {
    const server = await startTestServer({ via: 'app' });
    dirs.push(server.dataDir);
    try {
      expect(server.hotcert.services.lastKnownGood).toBeUndefined();
      expect(existsSync(path.join(server.dataDir, LAST_KNOWN_GOOD_FILE))).toBe(false);
      const file = createLastKnownGood({ dataDir: server.dataDir, logger: pino({ level: 'silent' }) });
      const key = server.hotcert.services.masterKey;
      expect(file.load(key)).toEqual({ problem: 'this instance has no last-known-good certificate yet' });
      writeFileSync(file.file, '{"format":1,');
      expect(file.load(key)).toEqual({ problem: `${LAST_KNOWN_GOOD_FILE} cannot be read` });

      // A real entry, opened under another master key: refused with the reason, the key never unsealed.
      const row = (await server.hotcert.services.stores.certificates.active())!;
      await file.remember({ row, generation: 1, fallbackReason: null });
      expect('identity' in file.load(key)).toBe(true);
      const other = Buffer.alloc(32, 7);
      const refused = file.load(other);
      expect(refused).toEqual({ problem: expect.stringContaining('wrong master key') });
      expect(JSON.stringify(refused)).not.toContain('PRIVATE KEY');
    } finally {
      await server.close();
    }
  });
});
