import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeCertificate } from '../../src/validation/describe-certificate.js';
import { validateBundle, type BundleValidation } from '../../src/validation/validate-bundle.js';
import { opensslVerify } from '../helpers/openssl-verify.js';
import { createRoot, getKey, issue, pemBundle } from '../helpers/pki.js';

const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const content = Buffer.concat(parts);
  const length = content.length < 0x80 ? [content.length] : [0x81, content.length];
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
};
const errorRules = (r: BundleValidation): string[] => (r.ok ? [] : r.errors.map((e) => e.rule));
const messages = (r: BundleValidation): string[] => (r.ok ? [] : r.errors.map((e) => e.message));

/** GeneralName forms hotcert does not decode, each next to a dNSName (RFC 5280 4.2.1.6 tags). */
const SAN_FORMS: Record<string, Buffer> = {
  otherName: tlv(0xa0, tlv(0x06, Buffer.from('2b0601040182371402 03'.replace(/ /g, ''), 'hex')), tlv(0xa0, tlv(0x0c, Buffer.from('admin@example.test')))),
  x400Address: tlv(0xa3, tlv(0x30, tlv(0x61, tlv(0x13, Buffer.from('US'))))),
  ediPartyName: tlv(0xa5, tlv(0xa1, tlv(0x0c, Buffer.from('Example EDI')))),
};

describe('unsupported content is reported as unsupported, naming what', () => {
  it.each(Object.keys(SAN_FORMS))('accepts a subjectAltName with an %s entry, with a warning naming the form (openssl accepts it too)', async (form) => {
    const root = await createRoot();
    const intermediate = await issue(root, { isCa: true });
    const value = tlv(0x30, tlv(0x82, Buffer.from('localhost')), SAN_FORMS[form]!);
    const leaf = await issue(intermediate, { sans: [], extraExtensions: [{ oid: '2.5.29.17', value }] });
    const result = validateBundle(pemBundle(leaf.keyPem, leaf.certPem, intermediate.certPem));
    expect(errorRules(result)).toEqual([]);
    expect(result.warnings.map((w) => w.rule)).toEqual(['unsupported-san']);
    expect(result.warnings[0]!.message).toContain(`of a form hotcert does not read (${form})`);
    if (result.ok) expect(result.bundle.certificate.sans[0]).toBe('localhost');
    expect((await opensslVerify({ root: root.certPem, intermediates: [intermediate.certPem], leaf: leaf.certPem })).ok).toBe(true);
  });

  it('lists the other entries of such a subjectAltName as the usual reader does', async () => {
    const root = await createRoot();
    const ips = ['7f000001', '00000000000000000000000000000001', '20010db8000000000001000000000001', '20010db8000100000000000000000000'].map((hex) => tlv(0x87, Buffer.from(hex, 'hex')));
    const common = [tlv(0x82, Buffer.from('a.example.test')), ...ips, tlv(0x81, Buffer.from('me@example.test')), tlv(0x86, Buffer.from('https://example.test/')), tlv(0x88, Buffer.from([0x2a, 0x03, 0x04]))];
    const plain = await issue(root, { sans: [], extraExtensions: [{ oid: '2.5.29.17', value: tlv(0x30, ...common) }] });
    const odd = await issue(root, { sans: [], extraExtensions: [{ oid: '2.5.29.17', value: tlv(0x30, ...common, SAN_FORMS.x400Address!) }] });
    const usual = describeCertificate(plain.cert).sans;
    expect(usual).toContain('::1');
    expect(describeCertificate(odd.cert).sans).toEqual([...usual, 'x400Address']);
  });

  it('names a public key type node cannot load (GOST) instead of calling the certificate invalid', async () => {
    const root = await createRoot();
    const intermediate = await issue(root, { isCa: true });
    const gostOid = Buffer.from('2a85030701010101', 'hex');
    const gostSpki = tlv(0x30, tlv(0x30, tlv(0x06, gostOid), tlv(0x30, tlv(0x06, Buffer.from('2a850307010201010 1'.replace(/ /g, ''), 'hex')))), tlv(0x03, Buffer.from([0]), tlv(0x04, Buffer.alloc(64, 7))));
    const key = await getKey('ec256');
    const leaf = await issue(intermediate, { key: { ...key, spki: gostSpki } });
    const result = validateBundle(pemBundle(key.pkcs8Pem, leaf.certPem, intermediate.certPem));
    expect(errorRules(result)).toContain('unsupported-key');
    expect(errorRules(result)).not.toContain('certificate-invalid');
    expect(messages(result)).toContainEqual(expect.stringMatching(/^block 2 \(CN=localhost\) has a public key of a type hotcert does not support \(GOST R 34\.10-2012 \(256-bit\), OID 1\.2\.643\.7\.1\.1\.1\.1\)/));
  });

  it('still calls a damaged key of a type node reads (a P-256 point off the curve) invalid, not unsupported', async () => {
    const root = await createRoot();
    const intermediate = await issue(root, { isCa: true });
    const algorithm = tlv(0x30, tlv(0x06, Buffer.from('2a8648ce3d0201', 'hex')), tlv(0x06, Buffer.from('2a8648ce3d030107', 'hex')));
    const damaged = tlv(0x30, algorithm, tlv(0x03, Buffer.from([0, 0x04]), Buffer.alloc(64, 0x01)));
    const key = await getKey('ec256');
    const leaf = await issue(intermediate, { key: { ...key, spki: damaged } });
    const result = validateBundle(pemBundle(key.pkcs8Pem, leaf.certPem, intermediate.certPem));
    expect(errorRules(result)).toContain('certificate-invalid');
    expect(messages(result)).toContainEqual(expect.stringContaining('block 2 (CN=localhost) is not a valid X.509 certificate (its public key cannot be decoded)'));
  });

  it('names DSA and Ed448 keys as unsupported', async () => {
    const root = await createRoot();
    const intermediate = await issue(root, { isCa: true });
    const dsa = generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 });
    const base = await getKey('ec256');
    const dsaLeaf = await issue(intermediate, { key: { ...base, spki: dsa.publicKey.export({ type: 'spki', format: 'der' }) } });
    const dsaResult = validateBundle(pemBundle(dsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), dsaLeaf.certPem, intermediate.certPem));
    expect(errorRules(dsaResult)).toEqual(['unsupported-key']);
    expect(messages(dsaResult)[0]).toContain('is a key of type DSA, which is not supported');
    const ed448 = await issue(intermediate, { keyKind: 'ed448' });
    const edResult = validateBundle(pemBundle(ed448.keyPem, ed448.certPem, intermediate.certPem));
    expect(errorRules(edResult)).toEqual(['unsupported-key']);
    expect(messages(edResult)[0]).toContain('is a key of type Ed448, which is not supported');
  });
});
