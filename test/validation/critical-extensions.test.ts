import { describe, expect, it } from 'vitest';
import { KNOWN_EXTENSIONS } from '../../src/validation/critical-extensions.js';
import { validateBundle } from '../../src/validation/validate-bundle.js';
import { opensslVerify } from '../helpers/openssl-verify.js';
import { createRoot, issue, pemBundle, type CertOptions } from '../helpers/pki.js';

const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const content = Buffer.concat(parts);
  const length = content.length < 0x80 ? Buffer.from([content.length]) : Buffer.from([0x81, content.length]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
};
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, 'hex'));
const uri = (text: string) => tlv(0x86, Buffer.from(text));
const distributionPoints = tlv(0x30, tlv(0x30, tlv(0xa0, tlv(0xa0, uri('http://crl.example.test/ca.crl')))));

/** A well-formed value for each extension hotcert knows, so that criticality is the only question asked. */
const SAMPLES: Record<string, Buffer | 'built-in'> = {
  '2.5.29.19': 'built-in',
  '2.5.29.15': 'built-in',
  '2.5.29.37': 'built-in',
  '2.5.29.17': 'built-in',
  '2.5.29.14': 'built-in',
  '2.5.29.35': 'built-in',
  // Permits the leaf's DNS name; its IP address is of another name form, so not constrained.
  '2.5.29.30': tlv(0x30, tlv(0xa0, tlv(0x30, tlv(0x82, Buffer.from('localhost'))))),
  '2.5.29.32': tlv(0x30, tlv(0x30, oid('6781' + '0c010201'))),
  '2.5.29.33': tlv(0x30, tlv(0x30, oid('2a030405'), oid('2a030406'))),
  '2.5.29.36': tlv(0x30, tlv(0x81, Buffer.from([0x00]))),
  '2.5.29.54': tlv(0x02, Buffer.from([0x00])),
  '2.5.29.31': distributionPoints,
  '2.5.29.46': distributionPoints,
  // sslServer and sslCA, so that both a leaf and a CA may carry it.
  '2.16.840.1.113730.1.1': tlv(0x03, Buffer.from([0x02, 0x44])),
  '1.3.6.1.5.5.7.1.7': tlv(0x30, tlv(0x30, tlv(0x04, Buffer.from([0x00, 0x01])), tlv(0x05))),
  '1.3.6.1.5.5.7.1.8': tlv(0x30, tlv(0xa0, tlv(0x05))),
  '1.3.6.1.5.5.7.48.1.5': tlv(0x05),
  '2.5.29.18': tlv(0x30, tlv(0x82, Buffer.from('ca.example.test'))),
  '2.5.29.9': tlv(0x30, tlv(0x30, oid('550403'), tlv(0x31, tlv(0x0c, Buffer.from('x'))))),
  '1.3.6.1.5.5.7.1.1': tlv(0x30, tlv(0x30, oid('2b06010505073002'), uri('http://ca.example.test/ca.crt'))),
  '1.3.6.1.5.5.7.1.24': tlv(0x30, tlv(0x02, Buffer.from([0x05]))),
  '1.3.6.1.4.1.11129.2.4.2': tlv(0x04, Buffer.from([0x00, 0x00])),
  '1.3.6.1.5.5.7.1.14': tlv(0x30, tlv(0x30, oid('2b06010505071501'))),
};

/** Options that put `oid`, marked critical, on a certificate (a leaf or an intermediate). */
function critical(extension: string, isCa: boolean): CertOptions {
  const sample = SAMPLES[extension];
  if (sample === undefined) throw new Error(`no sample value for ${extension}`);
  if (sample !== 'built-in') return { extraExtensions: [{ oid: extension, critical: true, value: sample }] };
  // An intermediate has no extKeyUsage or subjectAltName by default: give it ones that allow the leaf.
  const extras: CertOptions = isCa && extension === '2.5.29.37' ? { extKeyUsage: ['serverAuth'] } : isCa && extension === '2.5.29.17' ? { sans: ['ca.example.test'] } : {};
  return { criticalExtensions: [extension], ...extras };
}

async function inBatches<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  return results;
}

describe('critical extensions: hotcert refuses exactly what openssl verify -purpose sslserver refuses', () => {
  it('has a sample value for every extension hotcert knows', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(KNOWN_EXTENSIONS).sort());
  });

  it('agrees with openssl for each known extension marked critical, on the leaf and on the intermediate', async () => {
    const root = await createRoot();
    const cases = Object.keys(KNOWN_EXTENSIONS).flatMap((extension) => (['leaf', 'intermediate'] as const).map((position) => ({ extension, position })));
    // Four chains at a time: each runs one openssl process, and the machine may be busy.
    const verdicts = await inBatches(cases, 4, async ({ extension, position }) => {
      const intermediate = await issue(root, { isCa: true, ...(position === 'intermediate' ? critical(extension, true) : {}) });
      const leaf = await issue(intermediate, position === 'leaf' ? critical(extension, false) : {});
      const hotcert = validateBundle(pemBundle(leaf.keyPem, leaf.certPem, intermediate.certPem));
      const openssl = await opensslVerify({ root: root.certPem, intermediates: [intermediate.certPem], leaf: leaf.certPem });
      const name = `${KNOWN_EXTENSIONS[extension]!.name} on the ${position}`;
      return { name, hotcert: hotcert.ok, openssl: openssl.ok, why: hotcert.ok ? openssl.output : hotcert.errors.map((e) => e.rule).join(',') };
    });
    const disagreements = verdicts.filter((v) => v.hotcert !== v.openssl);
    expect(disagreements).toEqual([]);
    // The three the issue names, to be sure the comparison is not vacuous.
    const verdictOf = (name: string) => verdicts.find((v) => v.name === name)!.hotcert;
    expect(verdictOf('subjectKeyIdentifier on the leaf')).toBe(false);
    expect(verdictOf('authorityKeyIdentifier on the intermediate')).toBe(false);
    expect(verdictOf('cRLDistributionPoints on the leaf')).toBe(true);
  }, 120_000);

  it('names the extension and the fix', async () => {
    const root = await createRoot();
    const intermediate = await issue(root, { isCa: true });
    const leaf = await issue(intermediate, { criticalExtensions: ['2.5.29.14'] });
    const result = validateBundle(pemBundle(leaf.keyPem, leaf.certPem, intermediate.certPem));
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toEqual([
      'block 2 (CN=localhost) has a critical subjectKeyIdentifier extension, which TLS clients built on OpenSSL refuse as critical; have the certificate issued again with that extension non-critical',
    ]);
  });
});
