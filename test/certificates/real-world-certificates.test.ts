import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, peerCertificate } from '../helpers/https-client.js';
import { createRoot, hexFingerprint, issue, pemBundle, type IssuedCert } from '../helpers/pki.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

/** Certificates real CAs issue (issue 9, items 1 and 7), through the real HTTPS API and a real handshake. */
describe('uploads of certificates as real CAs issue them', () => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer();
    token = await server.adminToken();
  });
  afterAll(() => server.close());

  const fingerprint = (issued: IssuedCert) => hexFingerprint(issued.cert.fingerprint256);
  const active = async () => (await server.request('GET', '/v1/certificates/external', { headers: bearer(token) })).json.certificates[0];

  it('accepts and serves a leaf with an empty subject whose identity is in a critical subjectAltName', async () => {
    const root = await createRoot();
    const intermediate = await issue(root, { isCa: true });
    const leaf = await issue(intermediate, { subject: '', sans: ['short-lived.example.test', '127.0.0.1'] });
    expect(leaf.cert.subject).toBeUndefined();

    const res = await server.upload(pemBundle(leaf.keyPem, leaf.certPem, intermediate.certPem), token);
    expect(res.status).toBe(201);
    expect((await peerCertificate(server.port)).fingerprint).toBe(fingerprint(leaf));
    const version = await active();
    expect(version).toMatchObject({ subject: '', sans: ['short-lived.example.test', '127.0.0.1'], fingerprint_sha256: fingerprint(leaf) });
    const history = (await server.request('GET', '/v1/certificates/external/history', { headers: bearer(token) })).json.certificates as { subject: string }[];
    expect(history[0]!.subject).toBe('');

    // Findings about such a certificate name it by its subjectAltName.
    const expired = await issue(intermediate, { subject: '', sans: ['gone.example.test'], notBefore: new Date(Date.now() - 10 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
    const report = await server.upload(pemBundle(expired.keyPem, expired.certPem, intermediate.certPem), token, {}, '?dry_run=true');
    expect(report.status).toBe(200);
    expect(report.json.report.errors.map((e: { rule: string }) => e.rule)).toEqual(['expired']);
    expect(report.json.report.errors[0].message).toContain('block 2 (SAN DNS:gone.example.test)');
  });

  it('takes an empty-subject certificate into the webhook trust store with a clear answer', async () => {
    const root = await createRoot();
    const leaf = await issue(root, { subject: '', sans: ['hook.example.test'] });
    const res = await server.request('POST', '/v1/certificates/webhooks/ca', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body: leaf.certPem });
    expect(res.status).toBe(201);
    const audit = await server.request('GET', '/v1/audit?limit=5', { headers: bearer(token) });
    const entry = audit.json.audit.find((row: { action: string }) => row.action === 'webhook_ca.set');
    expect(entry.details.warnings).toContain('webhook-ca-not-ca');
    const stored = await server.request('GET', '/v1/certificates/webhooks/ca', { headers: bearer(token) });
    expect(stored.text.trim()).toBe(leaf.certPem.trim());
  });

  it('accepts a two-tier PKI (leaf issued by a root in the bundle) with a warning and serves the leaf alone', async () => {
    const root = await createRoot({ subject: 'CN=Two Tier Root' });
    const leaf = await issue(root);
    const res = await server.upload(pemBundle(leaf.keyPem, leaf.certPem, root.certPem), token);
    expect(res.status).toBe(201);
    const peer = await peerCertificate(server.port);
    expect(peer.fingerprint).toBe(fingerprint(leaf));
    expect(peer.chain).toHaveLength(1);
    const version = await active();
    expect(version.chain).toEqual([]);
    expect(version.warnings.map((w: { rule: string }) => w.rule)).toEqual(['issued-by-root', 'root-dropped']);
    expect((await server.request('GET', '/v1/certificates/external/ca', { headers: bearer(token) })).status).toBe(404);

    // The root was dropped when it was stored: rolling back to this version must not ask for it again.
    const other = await createRoot({ isCa: false, subject: 'CN=localhost', sans: ['localhost'], keyUsage: ['digitalSignature'], extKeyUsage: ['serverAuth'] });
    expect((await server.upload(pemBundle(other.keyPem, other.certPem), token)).status).toBe(201);
    const back = await server.request('POST', '/v1/certificates/external/rollback', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: JSON.stringify({ version: version.version }) });
    expect(back.status).toBe(200);
    expect((await peerCertificate(server.port)).fingerprint).toBe(fingerprint(leaf));
  });

  it('accepts a self-signed leaf uploaded alone, warning that clients must trust it explicitly', async () => {
    const self = await createRoot({ isCa: false, subject: 'CN=localhost', sans: ['localhost', '127.0.0.1'], keyUsage: ['digitalSignature'], extKeyUsage: ['serverAuth'] });
    const res = await server.upload(pemBundle(self.keyPem, self.certPem), token);
    expect(res.status).toBe(201);
    expect((await peerCertificate(server.port)).fingerprint).toBe(fingerprint(self));
    const version = await active();
    expect(version.warnings.map((w: { rule: string }) => w.rule)).toEqual(['self-signed-leaf']);
    expect(version.warnings[0].message).toContain('clients must be told to trust this very certificate');
  });

  it('still rejects a leaf whose issuer is missing, changing nothing', async () => {
    const before = await peerCertificate(server.port);
    const root = await createRoot();
    const leaf = await issue(root);
    const res = await server.upload(pemBundle(leaf.keyPem, leaf.certPem), token);
    expect(res.status).toBe(400);
    expect(res.json.errors.map((e: { details: string }) => e.details)).toEqual([expect.stringMatching(/was issued by CN=hotcert test root \d+, which is not in the upload; add the intermediate/)]);
    expect((await peerCertificate(server.port)).fingerprint).toBe(before.fingerprint);
  });
});
