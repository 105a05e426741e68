import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unseal } from '../../src/secrets/seal.js';
import { bearer, peerCertificate, type HttpsResponse } from '../helpers/https-client.js';
import { createChain, createRoot, issue, pemBundle, type IssuedCert, hexFingerprint as hex } from '../helpers/pki.js';
import { openssl } from '../helpers/openssl-verify.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'hotcert-csr-'));


let counter = 0;
/** The CA's side: `openssl x509 -req` signs the CSR with the test intermediate, copying its subjectAltName. */
async function signCsr(csrPem: string, ca: IssuedCert): Promise<string> {
  const n = ++counter;
  const files = { csr: `csr-${n}.pem`, ca: `ca-${n}.pem`, caKey: `ca-${n}.key`, ext: `ext-${n}.cnf`, out: `cert-${n}.pem` };
  const at = (name: string) => path.join(work, name);
  writeFileSync(at(files.csr), csrPem);
  writeFileSync(at(files.ca), ca.certPem);
  writeFileSync(at(files.caKey), ca.keyPem);
  writeFileSync(at(files.ext), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  await openssl(['x509', '-req', '-in', at(files.csr), '-CA', at(files.ca), '-CAkey', at(files.caKey), '-CAcreateserial', '-days', '60', '-sha256', '-copy_extensions', 'copy', '-extfile', at(files.ext), '-out', at(files.out)]);
  return readFileSync(at(files.out), 'utf8');
}

/** The base64 body of a PEM (what a leak would show, whatever the label). */
const pemBody = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

describe('CSR flow: keys generated inside hotcert, matched to the uploaded certificate', () => {
  let server: TestServer;
  let token: string;
  let userToken: string;
  let intermediate: IssuedCert;
  const responses: HttpsResponse[] = [];

  const call = async (method: string, url: string, options: { token?: string; body?: unknown; contentType?: string } = {}) => {
    const headers: Record<string, string> = { ...bearer(options.token ?? token) };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    const res = await server.request(method, url, { headers, ...(body !== undefined ? { body } : {}) });
    responses.push(res);
    return res;
  };
  const requestCsr = (body: unknown, t?: string) => call('POST', '/v1/certificates/external/csr', { body, ...(t ? { token: t } : {}) });
  const upload = (pem: string) => call('POST', '/v1/certificates/external', { body: pem, contentType: 'text/plain' });
  const pendingRows = () => server.hotcert.services.sqlite!.$client.prepare('select * from pending_keys').all() as { spki_sha256: string; key_sealed: Buffer }[];

  beforeAll(async () => {
    server = await startTestServer();
    token = await server.adminToken();
    const root = await createRoot();
    intermediate = await issue(root, { isCa: true });
    const created = await call('POST', '/v1/users', { body: { username: 'operator', password: 'Oper4tor-Passw0rd!' } });
    expect(created.status).toBe(201);
    const login = await server.request('POST', '/v1/users/login', { headers: { Authorization: `Basic ${Buffer.from('operator:Oper4tor-Passw0rd!').toString('base64')}` } });
    userToken = login.json.users[0].token;
  });
  afterAll(async () => {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('answers a CSR for the names (EC P-256 by default), signed by the key it keeps sealed', async () => {
    const res = await requestCsr({ names: ['Example.com', 'www.example.com', '192.0.2.7'] });
    expect(res.status).toBe(201);
    const [entry] = res.json.csrs;
    expect(entry).toMatchObject({ names: ['example.com', 'www.example.com', '192.0.2.7'], key_type: 'ec-p256', created_by: 'admin' });
    expect(entry.csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    writeFileSync(path.join(work, 'first.csr'), entry.csr);
    const text = await openssl(['req', '-in', path.join(work, 'first.csr'), '-verify', '-noout', '-text']);
    expect(text).toMatch(/verify OK/i);
    expect(text).toMatch(/Subject: CN ?= ?example\.com/);
    expect(text).toMatch(/DNS:example\.com, DNS:www\.example\.com, IP Address:192\.0\.2\.7/);
    expect(text).toMatch(/ASN1 OID: prime256v1/);

    // Stored sealed with the master key, bound to its public key; nothing in clear.
    const row = pendingRows().find((r) => r.spki_sha256 === entry.public_key_sha256)!;
    expect(row).toBeDefined();
    expect(row.key_sealed.includes('PRIVATE KEY')).toBe(false);
    const keyPem = unseal(server.hotcert.services.masterKey, row.key_sealed, `pending-key:${row.spki_sha256}`);
    const csrKey = createPublicKey(await openssl(['req', '-in', path.join(work, 'first.csr'), '-pubkey', '-noout']));
    expect(createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' })).toBe(csrKey.export({ type: 'spki', format: 'pem' }));

    const list = await call('GET', '/v1/certificates/external/csr');
    expect(list.status).toBe(200);
    expect(list.json.csrs.map((c: { id: number }) => c.id)).toContain(entry.id);
    expect(JSON.stringify(list.json)).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
  });

  it('serves the CA-signed certificate uploaded without a key on the next handshake, and consumes the pending key', async () => {
    const res = await requestCsr({ names: ['localhost', '127.0.0.1'] });
    expect(res.status).toBe(201);
    const entry = res.json.csrs[0];
    const certPem = await signCsr(entry.csr, intermediate);
    // A dry run finds the key too, and uses nothing up.
    const dry = await call('POST', '/v1/certificates/external?dry_run=true', { body: pemBundle(certPem, intermediate.certPem), contentType: 'text/plain' });
    expect(dry.status).toBe(200);
    expect(dry.json.report).toMatchObject({ valid: true, errors: [] });
    expect((await call('GET', '/v1/certificates/external/csr')).json.csrs.map((c: { id: number }) => c.id)).toContain(entry.id);

    const uploaded = await upload(pemBundle(certPem, intermediate.certPem));
    expect(uploaded.status, uploaded.text).toBe(201);

    const peer = await peerCertificate(server.port);
    expect(peer.fingerprint).toBe(hex(new X509Certificate(certPem).fingerprint256));
    expect(peer.chain[1]).toBe(hex(intermediate.cert.fingerprint256));

    const active = (await call('GET', '/v1/certificates/external')).json.certificates[0];
    expect(active).toMatchObject({ source: 'upload', key_type: 'EC-P256', fingerprint_sha256: peer.fingerprint });
    const list = await call('GET', '/v1/certificates/external/csr');
    expect(list.json.csrs.map((c: { id: number }) => c.id)).not.toContain(entry.id);
    expect(pendingRows().map((r) => r.spki_sha256)).not.toContain(entry.public_key_sha256);

    // Consumed: the same certificate again without a key now finds none (the key lives only in the version).
    const again = await upload(pemBundle(certPem, intermediate.certPem));
    expect(again.status).toBe(400);
    expect(again.json.errors[0].details).toMatch(/no private key/);
  });

  it('the RSA variants: rsa-3072 CSR, rsa-2048 end to end', async () => {
    const big = await requestCsr({ names: ['rsa.example.com'], key_type: 'rsa-3072' });
    expect(big.status).toBe(201);
    writeFileSync(path.join(work, 'rsa3072.csr'), big.json.csrs[0].csr);
    const text = await openssl(['req', '-in', path.join(work, 'rsa3072.csr'), '-verify', '-noout', '-text']);
    expect(text).toMatch(/Public-Key: \(3072 bit\)/);
    expect(text).toMatch(/sha256WithRSAEncryption/);

    const res = await requestCsr({ names: ['localhost'], key_type: 'rsa-2048' });
    expect(res.status).toBe(201);
    const certPem = await signCsr(res.json.csrs[0].csr, intermediate);
    const uploaded = await upload(pemBundle(certPem, intermediate.certPem));
    expect(uploaded.status, uploaded.text).toBe(201);
    expect((await peerCertificate(server.port)).fingerprint).toBe(hex(new X509Certificate(certPem).fingerprint256));
    expect((await call('GET', '/v1/certificates/external')).json.certificates[0].key_type).toBe('RSA-2048');
  });

  it('a certificate without a key that matches no pending key gets the missing-key error with the CSR hint; nothing changes', async () => {
    const before = (await peerCertificate(server.port)).fingerprint;
    const stranger = await createChain();
    const res = await upload(pemBundle(stranger.leaf.certPem, ...stranger.intermediates.map((c) => c.certPem)));
    expect(res.status).toBe(400);
    expect(res.json.errors[0]).toMatchObject({ code: 1009 });
    expect(res.json.errors[0].details).toMatch(/no private key.*POST \/v1\/certificates\/external\/csr/);
    expect((await peerCertificate(server.port)).fingerprint).toBe(before);
  });

  it('refuses non-admins (403) and bad names or key types (400 envelope), creating nothing', async () => {
    const rows = pendingRows().length;
    expect((await requestCsr({ names: ['example.com'] }, userToken)).status).toBe(403);
    expect((await call('GET', '/v1/certificates/external/csr', { token: userToken })).status).toBe(403);
    for (const body of [{ names: [] }, { names: ['bad name!'] }, { names: ['example.com', '-x.example.com'] }, { names: 'example.com' }, {}, { names: ['a.example.com'], key_type: 'dsa-1024' }, { names: ['a..b'] }]) {
      const res = await requestCsr(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.errors.length).toBeGreaterThan(0);
      expect(res.json.errors[0]).toMatchObject({ code: expect.any(Number), title: expect.any(String), details: expect.stringMatching(/names|key_type/) });
      expect(res.json.meta).toBeDefined();
    }
    const named = await requestCsr({ names: ['ok.example.com', 'bad name!'] });
    expect(named.json.errors[0].details).toMatch(/names\[1\] is not a DNS name or an IP address/);
    expect(pendingRows().length).toBe(rows);
  });

  it('an admin discards a pending CSR: its key is deleted and its certificate then finds none', async () => {
    const res = await requestCsr({ names: ['localhost'] });
    const { id, public_key_sha256: spki } = res.json.csrs[0];
    const certPem = await signCsr(res.json.csrs[0].csr, intermediate);
    expect((await call('DELETE', `/v1/certificates/external/csr/${id}`, { token: userToken })).status).toBe(403);
    expect((await call('DELETE', '/v1/certificates/external/csr/abc')).status).toBe(400);
    const discarded = await call('DELETE', `/v1/certificates/external/csr/${id}`);
    expect(discarded.status).toBe(200);
    expect(discarded.text).toBe('null');
    expect(pendingRows().map((r) => r.spki_sha256)).not.toContain(spki);
    const again = await call('DELETE', `/v1/certificates/external/csr/${id}`);
    expect(again.status).toBe(404);
    expect(again.json.errors[0].code).toBe(1006);
    const uploaded = await upload(pemBundle(certPem, intermediate.certPem));
    expect(uploaded.status).toBe(400);
    expect(uploaded.json.errors[0].details).toMatch(/no private key/);
  });

  it('pending keys expire after 30 days: left out of the list and never matched', async () => {
    const res = await requestCsr({ names: ['localhost'] });
    const certPem = await signCsr(res.json.csrs[0].csr, intermediate);
    server.clock.advance(31 * 24 * 60 * 60 * 1000);
    try {
      token = await server.adminToken(); // the old token expired with the jump
      const list = await call('GET', '/v1/certificates/external/csr');
      expect(list.json.csrs.map((c: { id: number }) => c.id)).not.toContain(res.json.csrs[0].id);
      const uploaded = await upload(pemBundle(certPem, intermediate.certPem));
      expect(uploaded.status).toBe(400);
      expect(uploaded.json.errors[0].details).toMatch(/no private key/);
    } finally {
      server.clock.advance(-31 * 24 * 60 * 60 * 1000);
      token = await server.adminToken();
    }
  });

  it('no key ever appears in a response, a log line, or the database files in clear', async () => {
    const keys: string[] = [];
    for (const row of pendingRows()) keys.push(unseal(server.hotcert.services.masterKey, row.key_sealed, `pending-key:${row.spki_sha256}`));
    const versions = server.hotcert.services.sqlite!.$client.prepare('select key_sealed, fingerprint_sha256 from certificate_versions').all() as { key_sealed: Buffer; fingerprint_sha256: string }[];
    for (const v of versions) keys.push(unseal(server.hotcert.services.masterKey, v.key_sealed, v.fingerprint_sha256));
    expect(keys.length).toBeGreaterThan(4);
    const everything = [...responses.map((r) => r.text), ...server.logs].join('\n');
    expect(everything).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
    for (const key of keys) expect(everything.includes(pemBody(key).slice(0, 64))).toBe(false);
    for (const file of ['hotcert.db', 'hotcert.db-wal']) {
      const at = path.join(server.dataDir, file);
      if (!existsSync(at)) continue;
      const bytes = readFileSync(at);
      expect(bytes.includes('PRIVATE KEY'), file).toBe(false);
      for (const key of keys) expect(bytes.includes(createPrivateKey(key).export({ type: 'pkcs8', format: 'der' })), file).toBe(false);
    }
  });
});
