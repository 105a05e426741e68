import { createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../helpers/https-client.js';
import { createChain, encryptKeyPem, pemBundle, toPkcs1Pem, toSec1Pem } from '../helpers/pki.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

/** Every form in which a key could leak: each base64 line of each PEM encoding, and the raw DER. */
function secretsOf(keyPem: string): { lines: string[]; der: Buffer[] } {
  const key = createPrivateKey(keyPem);
  const pems = [key.export({ type: 'pkcs8', format: 'pem' }).toString()];
  if (key.asymmetricKeyType === 'rsa') pems.push(key.export({ type: 'pkcs1', format: 'pem' }).toString());
  if (key.asymmetricKeyType === 'ec') pems.push(key.export({ type: 'sec1', format: 'pem' }).toString());
  const lines = pems.flatMap((pem) => pem.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----')));
  const der = [key.export({ type: 'pkcs8', format: 'der' })];
  return { lines, der };
}

describe('private keys never leave the process in clear', () => {
  let server: TestServer;
  let token: string;
  const responses: string[] = [];
  const keys: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({ env: { LOG_LEVEL: 'trace' } });
    token = await server.adminToken();
    const record = async (promise: Promise<{ status: number; text: string; headers: Record<string, unknown> }>) => {
      const res = await promise;
      responses.push(res.text, JSON.stringify(res.headers));
      return res;
    };
    const rsa = await createChain({ keyKind: 'rsa2048' });
    const ec = await createChain({ keyKind: 'ec384' });
    const ed = await createChain({ keyKind: 'ed25519' });
    const other = await createChain();
    keys.push(rsa.leaf.keyPem, ec.leaf.keyPem, ed.leaf.keyPem, other.leaf.keyPem, server.hotcert.services.identities.current()!.keyPem);

    const uploads = [
      pemBundle(toPkcs1Pem(rsa.leaf.keyPem), rsa.leaf.certPem, rsa.intermediates[0]!.certPem),
      pemBundle(toSec1Pem(ec.leaf.keyPem), ec.leaf.certPem, ec.intermediates[0]!.certPem),
      ed.bundle,
    ];
    const rejected = [
      pemBundle(other.leaf.keyPem, other.leaf.certPem),
      pemBundle(other.leaf.keyPem, rsa.leaf.certPem, rsa.intermediates[0]!.certPem),
      pemBundle(encryptKeyPem(other.leaf.keyPem), other.leaf.certPem, other.intermediates[0]!.certPem),
      pemBundle(other.leaf.keyPem, other.leaf.keyPem, other.leaf.certPem, other.intermediates[0]!.certPem),
      other.bundle.replace(/\n([A-Za-z0-9+/]{20})/, '\n$1!!'),
      pemBundle(other.leaf.keyPem, '-----BEGIN CERTIFICATE-----\n' + other.leaf.keyPem.split('\n')[1] + '\n-----END CERTIFICATE-----'),
    ];
    for (const body of uploads) expect((await record(server.upload(body, token))).status).toBe(201);
    for (const body of rejected) expect((await record(server.upload(body, token))).status).toBe(400);
    await record(server.upload(other.bundle, token, {}, '?dry_run=true'));
    await record(server.request('POST', '/v1/certificates/external/rollback', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: '{}' }));
    await record(server.request('DELETE', '/v1/certificates/external', { headers: bearer(token) }));
    keys.push(server.hotcert.services.identities.current()!.keyPem);
    for (const p of ['/v1/certificates/external', '/v1/certificates/external/history', '/v1/certificates/external/ca', '/v1/health', '/v1/audit?limit=1000', '/v1/metrics', '/v1/metrics?format=prometheus']) {
      await record(server.request('GET', p, { headers: bearer(token) }));
    }
  });
  afterAll(() => server.close());

  it('not in any HTTP response', () => {
    const all = responses.join('\n');
    expect(all).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    for (const key of keys) for (const line of secretsOf(key).lines) expect(all).not.toContain(line);
  });

  it('not in any log line', () => {
    const all = server.logs.join('\n');
    expect(server.logs.length).toBeGreaterThan(20);
    expect(all).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    expect(all).not.toContain(token);
    for (const key of keys) for (const line of secretsOf(key).lines) expect(all).not.toContain(line);
  });

  it('not in any audit row', () => {
    const rows = server.hotcert.services.sqlite!.$client.prepare('select * from audit_log').all();
    const all = JSON.stringify(rows);
    expect(rows.length).toBeGreaterThan(10);
    for (const key of keys) for (const line of secretsOf(key).lines) expect(all).not.toContain(line);
  });

  it('not in the database files on disk, in any encoding', () => {
    server.hotcert.services.sqlite!.$client.pragma('wal_checkpoint(PASSIVE)');
    const files = readdirSync(server.dataDir).filter((name) => name.startsWith('hotcert.db'));
    expect(files).toContain('hotcert.db');
    for (const name of files) {
      const raw = readFileSync(path.join(server.dataDir, name));
      const text = raw.toString('latin1');
      expect(text).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
      for (const key of keys) {
        const secrets = secretsOf(key);
        for (const line of secrets.lines) expect(text).not.toContain(line);
        for (const der of secrets.der) expect(raw.includes(der.subarray(-32))).toBe(false);
      }
    }
  });
});
