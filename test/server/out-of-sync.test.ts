import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { bearer, peerCertificate } from '../helpers/https-client.js';
import { createChain, leafFingerprint as fp } from '../helpers/pki.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait.js';

/**
 * What another process with another master key did before the check value existed: a new version, sealed
 * with a key this server does not have, marked active in the database (here written straight into SQLite).
 */
function activateUndecryptableCopyOf(server: TestServer, version: number): number {
  const db = new Database(path.join(server.dataDir, 'hotcert.db'));
  try {
    const next = (db.prepare('select max(version) as max from certificate_versions').get() as { max: number }).max + 1;
    db.prepare(
      `insert into certificate_versions (version, source, cert_pem, chain_pem, key_sealed, fingerprint_sha256, summary_json, warnings_json, created_at, created_by)
       select ?, 'import', cert_pem, chain_pem, randomblob(length(key_sealed)), fingerprint_sha256, summary_json, warnings_json, created_at, 'cli'
       from certificate_versions where version = ?`,
    ).run(next, version);
    db.prepare('update service_state set active_version = ?, generation = generation + 1').run(next);
    return next;
  } finally {
    db.close();
  }
}

describe('what is reported active is what is served', () => {
  it('a version this process cannot apply: health says out_of_sync, GET and metrics describe the served certificate', async () => {
    const server = await startTestServer();
    try {
      const token = await server.adminToken();
      const [b, a, c] = await Promise.all([createChain(), createChain(), createChain()]);
      expect((await server.upload(b.bundle, token)).status).toBe(201); // version 2
      expect((await server.upload(a.bundle, token)).status).toBe(201); // version 3, served
      const health = async () => (await server.request('GET', '/v1/health', { headers: bearer(token) })).json.health.certificate;
      expect(await health()).toMatchObject({ status: 'ok', version: 3, fingerprint_sha256: fp(a) });

      const broken = activateUndecryptableCopyOf(server, 2);
      const status = await waitFor(health, (value) => value.status !== 'ok', 10_000);
      expect(status).toMatchObject({ status: 'out_of_sync', version: 3, fingerprint_sha256: fp(a) });
      expect(status.reason).toContain(`version ${broken}`);
      expect((await peerCertificate(server.port)).fingerprint).toBe(fp(a));

      const active = await server.request('GET', '/v1/certificates/external', { headers: bearer(token) });
      expect(active.json.certificates).toHaveLength(1);
      expect(active.json.certificates[0]).toMatchObject({ version: 3, fingerprint_sha256: fp(a) });
      const metrics = await server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(token) });
      expect(metrics.text).toMatch(/^hotcert_certificate_out_of_sync 1$/m);
      expect(metrics.text).toContain(`hotcert_certificate_version{fingerprint_sha256="${fp(a)}"} 3`);
      expect(server.logs.some((line) => line.includes('"event":"certificate.sync_failed"'))).toBe(true);

      // A new upload is served and reported again: back in sync.
      expect((await server.upload(c.bundle, token)).status).toBe(201);
      expect(await health()).toMatchObject({ status: 'ok', fingerprint_sha256: fp(c) });
      const after = await server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(token) });
      expect(after.text).toMatch(/^hotcert_certificate_out_of_sync 0$/m);
    } finally {
      await server.close();
    }
  });
});
