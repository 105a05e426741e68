import { describe, expect, it } from 'vitest';
import { certificateLabel, certificateName, describeCertificate, describeChainEntry } from '../../src/validation/describe-certificate.js';
import { validateWebhookCa } from '../../src/validation/webhook-ca-rules.js';
import { createChain, createRoot, issue } from '../helpers/pki.js';

describe('describeCertificate', () => {
  it('summarises the server certificate as the API shows it', async () => {
    const notBefore = new Date('2025-01-01T00:00:00Z');
    const notAfter = new Date('2099-06-01T12:30:00Z');
    const root = await createRoot();
    const ca = await issue(root, { isCa: true, subject: 'C=US, O=Example, CN=Example Intermediate CA' });
    const leaf = await issue(ca, { subject: 'CN=www.example.test', sans: ['www.example.test', 'localhost', '127.0.0.1', '::1'], notBefore, notAfter, keyKind: 'ec384' });
    const summary = describeCertificate(leaf.cert);
    expect(summary).toEqual({
      subject: 'CN=www.example.test',
      issuer: 'CN=Example Intermediate CA, O=Example, C=US',
      serial: leaf.cert.serialNumber.toLowerCase(),
      sans: ['www.example.test', 'localhost', '127.0.0.1', '::1'],
      not_before: '2025-01-01T00:00:00.000Z',
      not_after: '2099-06-01T12:30:00.000Z',
      fingerprint_sha256: leaf.cert.fingerprint256.replace(/:/g, '').toLowerCase(),
      key_type: 'EC-P384',
    });
    expect(summary.fingerprint_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.serial).toMatch(/^[0-9a-f]+$/);
    expect(describeChainEntry(ca.cert)).toEqual({
      subject: 'CN=Example Intermediate CA, O=Example, C=US',
      issuer: root.cert.subject,
      not_after: describeCertificate(ca.cert).not_after,
      fingerprint_sha256: describeCertificate(ca.cert).fingerprint_sha256,
    });
  });

  it('names key types', async () => {
    const [rsa, ed] = await Promise.all([createChain({ keyKind: 'rsa2048' }), createChain({ keyKind: 'ed25519' })]);
    expect(describeCertificate(rsa.leaf.cert).key_type).toBe('RSA-2048');
    expect(describeCertificate(ed.leaf.cert).key_type).toBe('Ed25519');
  });

  it('names a certificate with an empty subject by its subjectAltName, else its serial', async () => {
    const root = await createRoot();
    const leaf = await issue(root, { subject: '', sans: ['a.example.test', '192.0.2.1'] });
    expect(describeCertificate(leaf.cert).subject).toBe('');
    expect(certificateLabel(4, leaf.cert)).toBe('block 4 (SAN DNS:a.example.test, IP Address:192.0.2.1)');
    expect(certificateName(describeCertificate(leaf.cert))).toBe('SAN a.example.test, 192.0.2.1');
    const bare = await issue(root, { subject: '', sans: [] });
    expect(certificateLabel(1, bare.cert)).toBe(`block 1 (serial ${bare.cert.serialNumber.toLowerCase()})`);
    const webhook = validateWebhookCa(leaf.certPem, Date.now());
    expect(webhook.ok).toBe(true);
    expect(webhook.warnings.map((w) => w.message)).toEqual([expect.stringContaining('block 1 (SAN DNS:a.example.test, IP Address:192.0.2.1) is not a CA certificate')]);
  });
});
