import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { certificateDetails, certificateShell, shellOf } from '../../src/validation/certificate-details.js';
import { MAX_SHELL_OCTETS, readCertificateShell, type CertificateShell } from '../../src/validation/certificate-shell.js';
import { decodeOid, readStrict } from '../../src/validation/der.js';
import {
  bitString,
  boolean,
  children,
  explicit,
  extensionsOf,
  integer,
  NULL,
  octetString,
  oid,
  readTlv,
  replaceField,
  sequence,
  set,
  signCertificate,
  splitCertificate,
  TBS,
  tlv,
  withExtensions,
} from '../hardening/asn1.js';
import { createChain, createRoot, issue, type TestChain } from '../helpers/pki.js';

const SEED = Number(process.env.FC_SEED ?? 0x5eed_5e11);

/** What the full @peculiar schema parse gives for the same fields (the reference the shell must match). */
const schemaShell = (der: Uint8Array): CertificateShell => shellOf(AsnConvert.parse(der, Certificate));

/** Plain objects and arrays, so that Buffer and Uint8Array views compare by content. */
const comparable = (shell: CertificateShell) => ({
  ...shell,
  serialNumber: Buffer.from(shell.serialNumber).toString('hex'),
  notBefore: shell.notBefore.getTime(),
  notAfter: shell.notAfter.getTime(),
  extensions: shell.extensions.map((ext) => ({ ...ext, value: Buffer.from(ext.value).toString('hex') })),
});

/** The shell, checked against the schema parse: whatever the shell reads, the schema parse reads identically. */
function readChecked(der: Uint8Array): CertificateShell | undefined {
  const shell = readCertificateShell(der);
  if (shell) expect(comparable(shell)).toEqual(comparable(schemaShell(der)));
  return shell;
}

/** Offsets of every element header in `der` (lenient walk into constructed elements). */
function headerOffsets(der: Buffer): number[] {
  const offsets: number[] = [];
  const walk = (start: number, end: number, depth: number) => {
    for (let offset = start; offset < end; ) {
      const element = readStrict(der, offset, end);
      if (!element) return;
      offsets.push(offset);
      if ((element.tag & 0x20) && depth < 12) walk(element.start, element.end, depth + 1);
      offset = element.end;
    }
  };
  walk(0, der.length, 0);
  return offsets;
}

describe('readCertificateShell', () => {
  let ec: TestChain;
  let rsa: TestChain;
  let leafDer: Buffer;
  let fields: Buffer[];
  const resign = (changed: Buffer[]) => signCertificate(changed, ec.intermediates[0]!.key.privateKey);

  beforeAll(async () => {
    ec = await createChain();
    rsa = await createChain({ keyKind: 'rsa2048' });
    leafDer = ec.leaf.cert.raw;
    fields = splitCertificate(leafDer).tbsFields;
  });

  it('reads a good certificate exactly as the schema parse does', () => {
    for (const der of [leafDer, ec.intermediates[0]!.cert.raw, ec.root.cert.raw, rsa.leaf.cert.raw, rsa.root.cert.raw]) {
      const shell = readChecked(der);
      expect(shell).toBeDefined();
    }
    const shell = readCertificateShell(leafDer)!;
    const x509 = new X509Certificate(leafDer);
    expect(shell.signatureAlgorithm).toBe('1.2.840.10045.4.3.2');
    expect(Buffer.from(shell.serialNumber).toString('hex').replace(/^00/, '')).toBe(x509.serialNumber.toLowerCase().replace(/^0+/, ''));
    expect(shell.notAfter.getTime()).toBe(new Date(x509.validTo).getTime());
    expect(shell.extensions.map((e) => e.extnID)).toContain('2.5.29.17');
  });

  it('reads certificates with other keys, subjects and times', async () => {
    const root = await createRoot({ keyKind: 'ed25519', subject: 'C=US, O=Example Org, CN=Example Root' });
    const leaf = await issue(root, { keyKind: 'ec384', notAfter: new Date(Date.UTC(2051, 0, 2, 3, 4, 5)), extKeyUsage: [], keyUsage: [] });
    const leaf2 = await issue(root, { keyKind: 'rsa2048', subject: 'CN=x', sans: [] });
    for (const cert of [root, leaf, leaf2]) expect(readChecked(cert.cert.raw)).toBeDefined();
    expect(readCertificateShell(leaf.cert.raw)!.notAfter.toISOString()).toBe('2051-01-02T03:04:05.000Z');
  });

  it('gives up on a truncated certificate', () => {
    expect(readCertificateShell(leafDer.subarray(0, leafDer.length - 1))).toBeUndefined();
    expect(readCertificateShell(leafDer.subarray(0, 100))).toBeUndefined();
    expect(readCertificateShell(new Uint8Array(0))).toBeUndefined();
    // Consistent outer length, truncated TBS inside.
    expect(readCertificateShell(sequence(leafDer.subarray(4, 200)))).toBeUndefined();
  });

  it('gives up on indefinite and non-minimal lengths', () => {
    const content = readTlv(leafDer).content;
    expect(readCertificateShell(Buffer.concat([Buffer.from([0x30, 0x80]), content, Buffer.from([0, 0])]))).toBeUndefined();
    // A long-form length for a short element (the version field) inside the TBS.
    const version = fields[TBS.version]!;
    const longForm = Buffer.concat([Buffer.from([version[0]!, 0x81, version[1]!]), version.subarray(2)]);
    expect(readCertificateShell(resign(replaceField(fields, TBS.version, longForm)))).toBeUndefined();
  });

  it('gives up on trailing bytes, after the certificate or inside the TBS', () => {
    expect(readCertificateShell(Buffer.concat([leafDer, Buffer.from([0, 0])]))).toBeUndefined();
    expect(readChecked(resign([...fields, NULL]))).toBeUndefined();
    const parts = splitCertificate(leafDer);
    expect(readCertificateShell(sequence(sequence(...parts.tbsFields), parts.signatureAlgorithm, parts.signature, NULL))).toBeUndefined();
  });

  it('reads a certificate without extensions (v1) as having none', () => {
    const v1 = sequence(sequence(...fields.slice(TBS.serial, TBS.extensions)), fields[TBS.signature]!, bitString(Buffer.alloc(64, 1)));
    expect(readChecked(v1)?.extensions).toEqual([]);
    const v3WithoutExtensions = resign(fields.slice(0, TBS.extensions));
    expect(readChecked(v3WithoutExtensions)?.extensions).toEqual([]);
  });

  it('reads the critical flag: absent, explicit FALSE, TRUE', () => {
    const ski = sequence(oid('2.5.29.14'), octetString(octetString(Buffer.alloc(20, 1))));
    const skiFalse = sequence(oid('2.5.29.14'), boolean(false), octetString(octetString(Buffer.alloc(20, 2))));
    const skiTrue = sequence(oid('2.5.29.14'), boolean(true), octetString(octetString(Buffer.alloc(20, 3))));
    for (const [ext, critical] of [[ski, false], [skiFalse, false], [skiTrue, true]] as const) {
      const shell = readChecked(resign(withExtensions(fields, [...extensionsOf(fields), ext])));
      expect(shell?.extensions.at(-1)).toMatchObject({ extnID: '2.5.29.14', critical });
    }
    // A BOOLEAN other than 0x00/0xff is left to the schema parse.
    const odd = sequence(oid('2.5.29.14'), tlv(0x01, Buffer.from([0x01])), octetString(octetString(Buffer.alloc(20, 4))));
    expect(readCertificateShell(resign(withExtensions(fields, [...extensionsOf(fields), odd])))).toBeUndefined();
  });

  it('checks the extensions wrapper', () => {
    const list = sequence(...extensionsOf(fields));
    expect(readChecked(resign(replaceField(fields, TBS.extensions, explicit(3, list))))).toBeDefined();
    // [3] with the wrong tag, [3] IMPLICIT, [3] with two children, an empty list.
    expect(readCertificateShell(resign(replaceField(fields, TBS.extensions, explicit(4, list))))).toBeUndefined();
    expect(readCertificateShell(resign(replaceField(fields, TBS.extensions, tlv(0xa3, ...extensionsOf(fields)))))).toBeUndefined();
    expect(readCertificateShell(resign(replaceField(fields, TBS.extensions, explicit(3, list, list))))).toBeUndefined();
    expect(readCertificateShell(resign(replaceField(fields, TBS.extensions, explicit(3, sequence()))))).toBeUndefined();
    // An extension without its value, and one whose value is not an OCTET STRING.
    expect(readCertificateShell(resign(withExtensions(fields, [...extensionsOf(fields), sequence(oid('1.2.3.4'))])))).toBeUndefined();
    expect(readCertificateShell(resign(withExtensions(fields, [...extensionsOf(fields), sequence(oid('1.2.3.4'), NULL)])))).toBeUndefined();
  });

  it('keeps huge serials and duplicated extensions (the structure rules report them)', () => {
    const huge = readChecked(resign(replaceField(fields, TBS.serial, integer(Buffer.alloc(1000, 0x5a)))));
    expect(huge?.serialNumber.length).toBe(1000);
    const twice = readChecked(resign(withExtensions(fields, [...extensionsOf(fields), extensionsOf(fields)[3]!])));
    expect(twice?.extensions.filter((e) => e.extnID === '2.5.29.17')).toHaveLength(2);
    expect(readCertificateShell(resign(replaceField(fields, TBS.serial, tlv(0x02))))).toBeUndefined();
  });

  it('leaves large certificates, unusual names and malformed times to the schema parse', () => {
    const big = resign(withExtensions(fields, [...extensionsOf(fields), sequence(oid('1.2.3.4'), octetString(Buffer.alloc(MAX_SHELL_OCTETS)))]));
    expect(readCertificateShell(big)).toBeUndefined();
    const bmpName = sequence(set(sequence(oid('2.5.4.3'), tlv(0x1e, Buffer.from('\0x', 'latin1')))));
    expect(readCertificateShell(resign(replaceField(fields, TBS.subject, bmpName)))).toBeUndefined();
    const times = children(fields[TBS.validity]!);
    const withOffset = sequence(times[0]!, tlv(0x18, Buffer.from('20500101000000+0100')));
    expect(readCertificateShell(resign(replaceField(fields, TBS.validity, withOffset)))).toBeUndefined();
    const noSeconds = sequence(tlv(0x17, Buffer.from('2501010000Z')), times[1]!);
    expect(readCertificateShell(resign(replaceField(fields, TBS.validity, noSeconds)))).toBeUndefined();
  });

  it('decodes times as the schema parse does, out-of-range fields included', () => {
    const cases: [number, string][] = [[0x17, '491231235959Z'], [0x17, '500101000000Z'], [0x17, '991399999999Z'], [0x18, '20491231235959Z'], [0x18, '00500101000000Z'], [0x18, '99991231235959Z'], [0x18, '20250230250000Z']];
    for (const [tag, text] of cases) {
      const shell = readChecked(resign(replaceField(fields, TBS.validity, sequence(tlv(tag, Buffer.from(text)), tlv(tag, Buffer.from(text))))));
      expect(shell, text).toBeDefined();
    }
  });

  it('decodes OIDs as the schema parse does', () => {
    const encoded: [string, Buffer][] = [
      ...['0.0', '1.39', '2.5.29.14', '1.2.840.113549.1.1.11', '1.3.6.1.4.1.562949953421311.1'].map((dotted) => [dotted, oid(dotted)] as [string, Buffer]),
      // First subidentifier over one octet (80 + 999 = 0x0437).
      ['2.999.1', Buffer.from([0x06, 0x03, 0x88, 0x37, 0x01])],
    ];
    for (const [dotted, element] of encoded) {
      expect(decodeOid(element, readStrict(element, 0, element.length)!)).toBe(dotted);
      const shell = readChecked(resign(withExtensions(fields, [...extensionsOf(fields), sequence(element, octetString(NULL))])));
      expect(shell?.extensions.at(-1)?.extnID).toBe(dotted);
    }
    const padded = Buffer.from([0x06, 0x03, 0x2a, 0x80, 0x01]);
    expect(decodeOid(padded, readStrict(padded, 0, padded.length)!)).toBeUndefined();
    const unterminated = Buffer.from([0x06, 0x02, 0x2a, 0x86]);
    expect(decodeOid(unterminated, readStrict(unterminated, 0, unterminated.length)!)).toBeUndefined();
  });

  it('never reads what the schema parse refuses, nor reads it differently (mutated certificates)', () => {
    const bases = [leafDer, ec.intermediates[0]!.cert.raw, rsa.leaf.cert.raw];
    const tagBytes = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1e, 0x30, 0x31, 0x80, 0x81, 0x82, 0xa0, 0xa1, 0xa2, 0xa3, 0x23, 0x24];
    let read = 0;
    fc.assert(
      fc.property(
        fc.nat({ max: bases.length - 1 }),
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('tag' as const), at: fc.nat(), value: fc.constantFrom(...tagBytes) }),
            fc.record({ kind: fc.constant('length' as const), at: fc.nat(), delta: fc.integer({ min: -3, max: 3 }) }),
            fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.nat({ max: 255 }) }),
          ),
          { minLength: 1, maxLength: 3 },
        ),
        (baseIndex, mutations) => {
          const base = bases[baseIndex]!;
          const der = Buffer.from(base);
          const headers = headerOffsets(base).filter((offset) => offset < 400);
          for (const m of mutations) {
            const header = headers[m.at % headers.length]!;
            if (m.kind === 'tag') der[header] = m.value;
            else if (m.kind === 'length') der[header + 1] = (der[header + 1]! + m.delta) & 0xff;
            else der[header + 2 + (m.at % 8)] = m.value;
          }
          let reference: CertificateShell | undefined;
          try {
            reference = schemaShell(der);
          } catch {
            reference = undefined;
          }
          const shell = readCertificateShell(der);
          if (shell) {
            read += 1;
            expect(reference, 'the shell read a certificate the schema parse refuses').toBeDefined();
            expect(comparable(shell)).toEqual(comparable(reference!));
          }
        },
      ),
      { seed: SEED, numRuns: 3000 },
    );
    expect(read).toBeGreaterThan(100);
  });
});

describe('certificateShell', () => {
  it('falls back to the schema parse outside plain DER, and throws as it did when that fails', async () => {
    const chain = await createChain();
    const fields = splitCertificate(chain.leaf.cert.raw).tbsFields;
    // A BMPString subject: outside the shell's profile, fine for the schema parse and for node.
    const bmpSubject = sequence(set(sequence(oid('2.5.4.3'), tlv(0x1e, Buffer.from('\0l\0o\0c\0a\0l\0h\0o\0s\0t', 'latin1')))));
    const der = signCertificate(replaceField(fields, TBS.subject, bmpSubject), chain.intermediates[0]!.key.privateKey);
    expect(readCertificateShell(der)).toBeUndefined();
    const x509 = new X509Certificate(der);
    expect(comparable(certificateShell(x509))).toEqual(comparable(schemaShell(der)));
    expect(certificateDetails(x509).extensions.length).toBeGreaterThan(0);
  });
});
