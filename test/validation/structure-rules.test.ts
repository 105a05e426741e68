import { beforeAll, describe, expect, it } from 'vitest';
import { validateBundle, type BundleValidation } from '../../src/validation/validate-bundle.js';
import {
  children,
  extension,
  extensionsOf,
  integer,
  NULL,
  oid as encodeOid,
  readTlv,
  replaceField,
  sequence,
  signCertificate,
  splitCertificate,
  TBS,
  tlv,
  toPem,
  withExtensions,
} from '../hardening/asn1.js';
import { createChain, createRoot, issue, pemBundle, type TestChain } from '../helpers/pki.js';

const errorRules = (r: BundleValidation): string[] => (r.ok ? [] : r.errors.map((e) => e.rule));
const messages = (r: BundleValidation): string => (r.ok ? '' : r.errors.map((e) => e.message).join('\n'));

describe('served certificates must be encoded as TLS clients (OpenSSL) require', () => {
  let chain: TestChain;
  let fields: Buffer[];
  let exts: Buffer[];
  /** The leaf rebuilt with `changed` TBS fields and signed by the real intermediate: the change is its only defect. */
  const bundleWith = (changed: Buffer[]) => {
    const leaf = toPem(signCertificate(changed, chain.intermediates[0]!.key.privateKey));
    return pemBundle(chain.leaf.keyPem, leaf, chain.intermediates[0]!.certPem);
  };
  const extensionsWith = (oid: string, value: Buffer, critical = false) => {
    const index = exts.findIndex((ext) => children(ext)[0]!.equals(encodeOid(oid)));
    return exts.map((ext, i) => (i === index ? extension(oid, critical, value) : ext));
  };

  beforeAll(async () => {
    chain = await createChain();
    fields = splitCertificate(chain.leaf.cert.raw).tbsFields;
    exts = extensionsOf(fields);
  });

  it('accepts the re-signed leaf unchanged (the helper adds no defect)', () => {
    expect(validateBundle(bundleWith(fields)).ok).toBe(true);
  });

  it('rejects a duplicated extension, which OpenSSL treats as an invalid certificate', () => {
    const result = validateBundle(bundleWith(withExtensions(fields, [...exts, exts[3]!])));
    expect(errorRules(result)).toEqual(['certificate-invalid']);
    expect(messages(result)).toMatch(/^block 2 \(CN=localhost\) .*extension 2\.5\.29\.17 more than once/);
  });

  it('rejects a duplicated unknown extension too (RFC 5280 4.2)', () => {
    const twice = [...exts, extension('1.2.3.4', false, NULL), extension('1.2.3.4', false, NULL)];
    expect(errorRules(validateBundle(bundleWith(withExtensions(fields, twice))))).toEqual(['certificate-invalid']);
  });

  it('rejects a serial number longer than 20 octets', () => {
    const result = validateBundle(bundleWith(replaceField(fields, TBS.serial, integer(Buffer.alloc(1000, 0x11)))));
    expect(errorRules(result)).toEqual(['certificate-invalid']);
    expect(messages(result)).toContain('serial number is 1000 octets long');
  });

  it('accepts a 20-octet serial with its sign-keeping zero octet', () => {
    const serial = integer(Buffer.alloc(20, 0xee));
    expect(serial.length).toBe(2 + 21);
    expect(validateBundle(bundleWith(replaceField(fields, TBS.serial, serial))).ok).toBe(true);
  });

  it.each([
    ['subjectKeyIdentifier', '2.5.29.14', sequence(NULL)],
    ['authorityKeyIdentifier', '2.5.29.35', tlv(0x04, Buffer.from([1, 2]))],
  ])('rejects an undecodable %s', (name, oid, value) => {
    const result = validateBundle(bundleWith(withExtensions(fields, extensionsWith(oid, value))));
    expect(errorRules(result)).toEqual(['certificate-invalid']);
    expect(messages(result)).toContain(`its ${name} extension cannot be decoded`);
  });

  it('rejects an undecodable nameConstraints or cRLDistributionPoints extension', () => {
    for (const oid of ['2.5.29.30', '2.5.29.31']) {
      expect(errorRules(validateBundle(bundleWith(withExtensions(fields, [...exts, extension(oid, false, NULL)]))))).toEqual(['certificate-invalid']);
    }
  });

  it('rejects a negative basicConstraints path length', () => {
    const negative = sequence(tlv(0x02, Buffer.from([0xff])));
    const result = validateBundle(bundleWith(withExtensions(fields, extensionsWith('2.5.29.19', negative, true))));
    expect(errorRules(result)).toEqual(['certificate-invalid']);
    expect(messages(result)).toContain('path length is negative');
  });

  it.each([
    ['month 00', (t: string) => `${t.slice(0, 2)}00${t.slice(4)}`],
    ['30 February', (t: string) => `${t.slice(0, 2)}0230${t.slice(6)}`],
    ['second 60', (t: string) => `${t.slice(0, 10)}60Z`],
    ['no seconds', (t: string) => `${t.slice(0, 10)}Z`],
    ['a time-zone offset', (t: string) => `${t.slice(0, 12)}+0100`],
    ['a character that is not a digit', (t: string) => `${t.slice(0, 3)}:${t.slice(4)}`],
  ])('rejects a notBefore time with %s (found by fuzz.test.ts; OpenSSL refuses it)', (_name, change) => {
    const [notBefore, notAfter] = children(fields[TBS.validity]!);
    const text = readTlv(notBefore!).content.toString('latin1');
    const validity = sequence(tlv(0x17, Buffer.from(change(text), 'latin1')), notAfter!);
    const result = validateBundle(bundleWith(replaceField(fields, TBS.validity, validity)));
    expect(errorRules(result)).toContain('certificate-invalid');
    expect(messages(result)).toContain('its notBefore time is not encoded as RFC 5280 requires');
  });

  it('accepts a GeneralizedTime validity, and a malformed one is rejected', () => {
    const [notBefore, notAfter] = children(fields[TBS.validity]!);
    const text = `20${readTlv(notAfter!).content.toString('latin1')}`;
    const good = sequence(notBefore!, tlv(0x18, Buffer.from(text, 'latin1')));
    expect(validateBundle(bundleWith(replaceField(fields, TBS.validity, good))).ok).toBe(true);
    const fraction = sequence(notBefore!, tlv(0x18, Buffer.from(`${text.slice(0, 14)}.5Z`, 'latin1')));
    expect(messages(validateBundle(bundleWith(replaceField(fields, TBS.validity, fraction))))).toContain('its notAfter time is not encoded');
  });

  it('checks intermediates too, but not the dropped self-signed root', async () => {
    const inter = chain.intermediates[0]!;
    const interFields = splitCertificate(inter.cert.raw).tbsFields;
    const interExts = extensionsOf(interFields);
    const badInter = toPem(signCertificate(withExtensions(interFields, [...interExts, interExts[0]!]), chain.root.key.privateKey));
    const result = validateBundle(pemBundle(chain.leaf.keyPem, chain.leaf.certPem, badInter, chain.root.certPem));
    expect(result.ok ? [] : result.errors.map((e) => [e.rule, e.block])).toEqual([['certificate-invalid', 3]]);
  });
});

describe('serial numbers that are zero or negative', () => {
  it('accepts them with a warning naming the certificate', async () => {
    const root = await createRoot();
    const intermediate = await issue(root, { isCa: true, rawSerial: 'ff01' });
    for (const [rawSerial, word] of [['00', 'zero'], ['80', 'negative']] as const) {
      const leaf = await issue(intermediate, { rawSerial });
      expect(leaf.cert.serialNumber.startsWith('-') || leaf.cert.serialNumber === '0').toBe(true);
      const result = validateBundle(pemBundle(leaf.keyPem, leaf.certPem, intermediate.certPem));
      expect(result.ok).toBe(true);
      expect(result.warnings.map((w) => [w.rule, w.block])).toEqual([['serial-not-positive', 2], ['serial-not-positive', 3]]);
      expect(result.warnings[0]!.message).toMatch(new RegExp(`^block 2 \\(CN=localhost\\) has a ${word} serial number; RFC 5280 requires a positive one`));
    }
  });
});
