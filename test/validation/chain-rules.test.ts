import { beforeAll, describe, expect, it } from 'vitest';
import { validateBundle, type BundleValidation } from '../../src/validation/validate-bundle.js';
import { readElement } from '../../src/validation/der.js';
import { canonicalName } from '../../src/validation/name-canon.js';
import { opensslVerify } from '../helpers/openssl-verify.js';
import { createChain, createRoot, getKey, issue, pemBundle, type TestChain } from '../helpers/pki.js';

const errorRules = (r: BundleValidation): string[] => (r.ok ? [] : r.errors.map((e) => e.rule));
const warningRules = (r: BundleValidation): string[] => r.warnings.map((w) => w.rule);
const errors = (r: BundleValidation) => (r.ok ? [] : r.errors);

let two: TestChain;
beforeAll(async () => {
  two = await createChain({ intermediates: 2 });
});

describe('rule 3: the key matches exactly one certificate', () => {
  it('rejects a key that matches no certificate', async () => {
    const other = await createChain();
    const result = validateBundle(pemBundle(other.leaf.keyPem, two.leaf.certPem, ...two.intermediates.map((c) => c.certPem)));
    expect(errorRules(result)).toEqual(['key-mismatch']);
    expect(errors(result)[0]!.message).toContain('block 1');
  });

  it('rejects an EC key with an RSA certificate', async () => {
    const rsa = await createChain({ keyKind: 'rsa2048' });
    const result = validateBundle(pemBundle(two.leaf.keyPem, rsa.leaf.certPem, rsa.intermediates[0]!.certPem));
    expect(errorRules(result)).toEqual(['key-mismatch']);
  });

  it('rejects a key that matches two different certificates', async () => {
    const second = await issue(two.intermediates[0]!, { key: two.leaf.key });
    const result = validateBundle(pemBundle(two.bundle, second.certPem));
    expect(errorRules(result)).toEqual(['key-ambiguous']);
    expect(errors(result)[0]!.message).toContain('block 5');
  });
});

describe('rule 4: one chain above the server certificate', () => {
  it('accepts two intermediates in the documented order', () => {
    const result = validateBundle(two.bundle);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([]);
    if (result.ok) {
      expect(result.bundle.chainPems).toEqual(two.intermediates.map((c) => c.certPem));
      expect(result.bundle.chain.map((c) => c.subject)).toEqual(two.intermediates.map((c) => c.cert.subject));
    }
  });

  it('reorders a shuffled bundle into the documented order, with a warning', () => {
    const [lower, upper] = two.intermediates as [typeof two.leaf, typeof two.leaf];
    const shuffled = pemBundle(upper.certPem, two.leaf.certPem, two.leaf.keyPem, lower.certPem);
    const result = validateBundle(shuffled);
    expect(result.ok).toBe(true);
    expect(warningRules(result)).toEqual(['chain-order']);
    expect(result.warnings[0]!.message).toContain('private key, server certificate, then intermediates from the leaf upwards');
    if (result.ok) {
      expect(result.bundle.certPem).toBe(two.leaf.certPem);
      expect(result.bundle.chainPems).toEqual([lower.certPem, upper.certPem]);
    }
  });

  it('drops a duplicated certificate with a warning', () => {
    const result = validateBundle(pemBundle(two.bundle, two.intermediates[0]!.certPem));
    expect(result.ok).toBe(true);
    expect(warningRules(result)).toEqual(['duplicate-certificate']);
    expect(result.warnings[0]!.block).toBe(5);
    if (result.ok) expect(result.bundle.chainPems).toHaveLength(2);
  });

  it('drops a self-signed root at the top with a warning', () => {
    const result = validateBundle(pemBundle(two.bundle, two.root.certPem));
    expect(result.ok).toBe(true);
    expect(warningRules(result)).toEqual(['root-dropped']);
    expect(result.warnings[0]!.message).toMatch(/^block 5 \(CN=hotcert test root/);
    if (result.ok) expect(result.bundle.chainPems).toEqual(two.intermediates.map((c) => c.certPem));
  });

  it('accepts a chain whose top is not self-signed (root omitted)', () => {
    expect(validateBundle(two.bundle).ok).toBe(true);
  });

  it('rejects the server certificate alone', () => {
    const result = validateBundle(pemBundle(two.leaf.keyPem, two.leaf.certPem));
    expect(errorRules(result)).toEqual(['chain-missing-intermediate']);
    expect(errors(result)[0]!.message).toMatch(/block 2 \(CN=localhost\).*add the intermediate/);
  });

  it('rejects a gap in the chain (missing intermediate, root present)', () => {
    const result = validateBundle(pemBundle(two.leaf.keyPem, two.leaf.certPem, two.intermediates[1]!.certPem));
    expect(errorRules(result).sort()).toEqual(['chain-missing-intermediate', 'chain-unrelated']);
    expect(errors(result).find((e) => e.rule === 'chain-unrelated')!.block).toBe(3);
  });

  it('accepts a leaf issued directly by a root in the bundle (two-tier PKI) with a warning, serving the leaf alone', async () => {
    const root = await createRoot();
    const leaf = await issue(root);
    const result = validateBundle(pemBundle(leaf.keyPem, leaf.certPem, root.certPem));
    expect(errorRules(result)).toEqual([]);
    expect(warningRules(result)).toEqual(['issued-by-root', 'root-dropped']);
    expect(result.warnings[0]!.message).toMatch(/block 2 \(CN=localhost\) was issued directly by the root block 3 .*trust store/);
    if (result.ok) expect(result.bundle.chainPems).toEqual([]);
  });

  it('still rejects a leaf whose issuing root is missing from a two-tier upload', async () => {
    const root = await createRoot();
    const leaf = await issue(root);
    const result = validateBundle(pemBundle(leaf.keyPem, leaf.certPem));
    expect(errorRules(result)).toEqual(['chain-missing-intermediate']);
  });

  it('accepts a lone self-signed server certificate with a warning (none for the server\'s own default)', async () => {
    const self = await createRoot({ isCa: false, subject: 'CN=localhost', sans: ['localhost'], keyUsage: ['digitalSignature'], extKeyUsage: ['serverAuth'] });
    const bundle = pemBundle(self.keyPem, self.certPem);
    const result = validateBundle(bundle);
    expect(errorRules(result)).toEqual([]);
    expect(warningRules(result)).toEqual(['self-signed-leaf']);
    expect(result.warnings[0]!.message).toMatch(/self-signed, so clients must be told to trust this very certificate/);
    const relaxed = validateBundle(bundle, { requireIntermediate: false });
    expect(relaxed.ok).toBe(true);
    expect(relaxed.warnings).toEqual([]);
    if (relaxed.ok) expect(relaxed.bundle.chainPems).toEqual([]);
  });

  it('rejects a certificate unrelated to the chain', async () => {
    const other = await createChain();
    const result = validateBundle(pemBundle(two.bundle, other.intermediates[0]!.certPem));
    expect(errorRules(result)).toEqual(['chain-unrelated']);
    expect(errors(result)[0]!.message).toMatch(/^block 5 \(CN=hotcert test intermediate/);
  });

  it('rejects a loop of cross-signed CAs', async () => {
    const [keyX, keyY] = await Promise.all([getKey('ec256'), getKey('ec256')]);
    const rootX = await createRoot({ key: keyX, subject: 'CN=Loop X' });
    const rootY = await createRoot({ key: keyY, subject: 'CN=Loop Y' });
    const xByY = await issue(rootY, { key: keyX, subject: 'CN=Loop X', isCa: true });
    const yByX = await issue(rootX, { key: keyY, subject: 'CN=Loop Y', isCa: true });
    const leaf = await issue(xByY);
    const result = validateBundle(pemBundle(leaf.keyPem, leaf.certPem, xByY.certPem, yByX.certPem));
    expect(errorRules(result)).toContain('chain-loop');
  });

  it('rejects more than 10 certificates', async () => {
    const long = await createChain({ intermediates: 10 });
    const result = validateBundle(long.bundle);
    expect(errorRules(result)).toEqual(['chain-too-long']);
    const ten = await createChain({ intermediates: 9 });
    expect(validateBundle(ten.bundle).ok).toBe(true);
  });

  it('rejects an issuer that is not a CA', async () => {
    const root = await createRoot();
    const notCa = await issue(root, { isCa: false, subject: 'CN=Not A CA', keyUsage: ['keyCertSign', 'digitalSignature'], extKeyUsage: [] });
    const leaf = await issue(notCa);
    const result = validateBundle(pemBundle(leaf.keyPem, leaf.certPem, notCa.certPem));
    expect(errorRules(result)).toEqual(['issuer-not-ca']);
    expect(errors(result)[0]!.message).toMatch(/^block 3 \(CN=Not A CA\) issued block 2 \(CN=localhost\)/);
  });

  it('rejects an issuer whose key usage does not allow certificate signing', async () => {
    const chain = await createChain({ intermediate: { keyUsage: ['digitalSignature', 'cRLSign'] } });
    const result = validateBundle(chain.bundle);
    expect(errorRules(result)).toEqual(['issuer-key-usage']);
    expect(errors(result)[0]!.block).toBe(3);
  });

  it('enforces path length constraints', async () => {
    const root = await createRoot();
    const upper = await issue(root, { isCa: true, pathLen: 0, subject: 'CN=Upper pathlen 0' });
    const lower = await issue(upper, { isCa: true });
    const leaf = await issue(lower);
    const result = validateBundle(pemBundle(leaf.keyPem, leaf.certPem, lower.certPem, upper.certPem));
    expect(errorRules(result)).toEqual(['path-length']);
    expect(errors(result)[0]!.message).toMatch(/^block 4 \(CN=Upper pathlen 0\) allows at most 0/);

    const ok = await issue(root, { isCa: true, pathLen: 1 });
    const below = await issue(ok, { isCa: true });
    const leaf2 = await issue(below);
    expect(validateBundle(pemBundle(leaf2.keyPem, leaf2.certPem, below.certPem, ok.certPem)).ok).toBe(true);
  });

  it('reports several chain problems at once', async () => {
    const other = await createChain();
    const chain = await createChain({ intermediate: { keyUsage: ['cRLSign'] } });
    const result = validateBundle(pemBundle(chain.bundle, other.leaf.certPem));
    expect(errorRules(result).sort()).toEqual(['chain-unrelated', 'issuer-key-usage']);
  });
});

describe('rule 4: names compared as RFC 5280 says (as OpenSSL does)', () => {
  it('chains a leaf whose issuer differs from the intermediate\'s subject only in case and white space, as openssl does', async () => {
    const root = await createRoot();
    const intermediate = await issue(root, { isCa: true, subject: 'O=Acme  Corp, CN=Example  CA ' });
    const leaf = await issue(intermediate, { issuerName: 'O=ACME corp, CN=example ca' });
    expect(leaf.cert.issuer).not.toBe(intermediate.cert.subject);
    const result = validateBundle(pemBundle(leaf.keyPem, leaf.certPem, intermediate.certPem));
    expect(errorRules(result)).toEqual([]);
    expect(result.ok).toBe(true);
    const openssl = await opensslVerify({ root: root.certPem, intermediates: [intermediate.certPem], leaf: leaf.certPem });
    expect(openssl).toMatchObject({ ok: true });
  });

  it('does not chain names that differ in more than case and white space, as openssl does not', async () => {
    const root = await createRoot();
    const intermediate = await issue(root, { isCa: true, subject: 'CN=Example CA' });
    const leaf = await issue(intermediate, { issuerName: 'CN=Example-CA' });
    expect(errorRules(validateBundle(pemBundle(leaf.keyPem, leaf.certPem, intermediate.certPem)))).toContain('chain-missing-intermediate');
    expect((await opensslVerify({ root: root.certPem, intermediates: [intermediate.certPem], leaf: leaf.certPem })).ok).toBe(false);
  });

  it('compares string types by their text: PrintableString, UTF8String and BMPString of one name are equal', () => {
    const tlv = (tag: number, content: Buffer) => Buffer.concat([Buffer.from([tag, content.length]), content]);
    const name = (tag: number, text: Buffer) => {
      const der = tlv(0x30, tlv(0x31, tlv(0x30, Buffer.concat([tlv(0x06, Buffer.from([0x55, 0x04, 0x03])), tlv(tag, text)]))));
      return canonicalName(der, readElement(der, 0)!);
    };
    const bmp = Buffer.from('\tExample\n CA', 'utf16le').swap16();
    expect(name(0x13, Buffer.from('EXAMPLE CA'))).toBe(name(0x0c, Buffer.from(' example   ca')));
    expect(name(0x1e, bmp)).toBe(name(0x0c, Buffer.from('example ca')));
    expect(name(0x0c, Buffer.from('Ärger'))).not.toBe(name(0x0c, Buffer.from('ärger')));
  });
});
