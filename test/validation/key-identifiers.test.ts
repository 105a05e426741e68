import { beforeAll, describe, expect, it } from 'vitest';
import { certificateShell } from '../../src/validation/certificate-details.js';
import { keyIdentifiers } from '../../src/validation/key-identifiers.js';
import { validateBundle, type BundleValidation } from '../../src/validation/validate-bundle.js';
import { children, extension, extensionsOf, oid, sequence, signCertificate, splitCertificate, tlv, toPem, withExtensions } from '../hardening/asn1.js';
import { createChain, pemBundle, type TestChain } from '../helpers/pki.js';

const errors = (r: BundleValidation) => (r.ok ? [] : r.errors.map((e) => ({ rule: e.rule, block: e.block })));
const SKI = '2.5.29.14';
const AKI = '2.5.29.35';

/** Replaces one extension (by OID) of `der`'s TBSCertificate and signs the result with `signer`. */
function withExtension(der: Buffer, extnId: string, value: Buffer, signer: TestChain['root']): string {
  const fields = splitCertificate(der).tbsFields;
  const exts = extensionsOf(fields).map((ext) => (children(ext)[0]!.equals(oid(extnId)) ? extension(extnId, false, value) : ext));
  return toPem(signCertificate(withExtensions(fields, exts), signer.key.privateKey));
}

describe('rule 4: the authorityKeyIdentifier of each certificate names its issuer', () => {
  let chain: TestChain;
  beforeAll(async () => {
    chain = await createChain();
  });

  it('reads the identifiers pki.ts writes, which match along a good chain', () => {
    const leaf = keyIdentifiers(certificateShell(chain.leaf.cert))!;
    const inter = keyIdentifiers(certificateShell(chain.intermediates[0]!.cert))!;
    expect(leaf.authorityKeyId).toMatch(/^[0-9a-f]{40}$/);
    expect(leaf.authorityKeyId).toBe(inter.subjectKeyId);
    expect(validateBundle(chain.bundle).ok).toBe(true);
  });

  it('rejects a leaf whose authorityKeyIdentifier names another key, though the signature verifies', () => {
    const leaf = withExtension(chain.leaf.cert.raw, AKI, sequence(tlv(0x80, Buffer.alloc(20, 0xab))), chain.intermediates[0]!);
    const result = validateBundle(pemBundle(chain.leaf.keyPem, leaf, chain.intermediates[0]!.certPem));
    expect(errors(result)).toEqual([{ rule: 'chain-missing-intermediate', block: 2 }]);
    expect(result.ok ? '' : result.errors[0]!.message).toMatch(/^block 2 \(CN=localhost\) names a different issuer key \(authorityKeyIdentifier\)/);
  });

  it('rejects an intermediate whose subjectKeyIdentifier was altered (found by fuzz.test.ts)', () => {
    const inter = withExtension(chain.intermediates[0]!.cert.raw, SKI, tlv(0x04, Buffer.alloc(20, 0x01)), chain.root);
    expect(errors(validateBundle(pemBundle(chain.leaf.keyPem, chain.leaf.certPem, inter)))).toEqual([{ rule: 'chain-missing-intermediate', block: 2 }]);
    // With the root uploaded too, the intermediate still links to it (its own AKI is intact).
    expect(errors(validateBundle(pemBundle(chain.leaf.keyPem, chain.leaf.certPem, inter, chain.root.certPem)))).toEqual([{ rule: 'chain-missing-intermediate', block: 2 }]);
  });

  it('rejects an authorityCertSerialNumber that is not the issuer serial', () => {
    const aki = sequence(tlv(0x82, Buffer.from([0x01, 0x02])));
    const leaf = withExtension(chain.leaf.cert.raw, AKI, aki, chain.intermediates[0]!);
    expect(errors(validateBundle(pemBundle(chain.leaf.keyPem, leaf, chain.intermediates[0]!.certPem)))).toEqual([{ rule: 'chain-missing-intermediate', block: 2 }]);
  });

  it('accepts certificates without key identifiers', async () => {
    const fields = splitCertificate(chain.leaf.cert.raw).tbsFields;
    const withoutAki = extensionsOf(fields).filter((ext) => !children(ext)[0]!.equals(oid(AKI)));
    const leaf = toPem(signCertificate(withExtensions(fields, withoutAki), chain.intermediates[0]!.key.privateKey));
    expect(validateBundle(pemBundle(chain.leaf.keyPem, leaf, chain.intermediates[0]!.certPem)).ok).toBe(true);
  });
});
