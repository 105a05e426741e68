import { createPublicKey } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateBundle, type BundleValidation } from '../../src/validation/validate-bundle.js';
import { createChain, pemBundle, toSec1Pem, type TestChain } from '../helpers/pki.js';

const errorRules = (r: BundleValidation): string[] => (r.ok ? [] : r.errors.map((e) => e.rule));
const warningRules = (r: BundleValidation): string[] => r.warnings.map((w) => w.rule);

function relabel(pem: string, label: string): string {
  return pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, `-----$1 ${label}-----`);
}

let chain: TestChain;
beforeAll(async () => {
  chain = await createChain();
});

describe('rule 1: PEM text, lenient about layout', () => {
  it('accepts the documented bundle without warnings', () => {
    const result = validateBundle(chain.bundle);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([]);
  });

  it('accepts CRLF and CR line endings with a normalised-text warning', () => {
    for (const eol of ['\r\n', '\r']) {
      const result = validateBundle(chain.bundle.replace(/\n/g, eol));
      expect(result.ok).toBe(true);
      expect(warningRules(result)).toEqual(['normalised-text']);
    }
  });

  it('accepts a UTF-8 BOM, as text and as bytes', () => {
    const text = validateBundle(`\uFEFF${chain.bundle}`);
    expect(text.ok).toBe(true);
    expect(warningRules(text)).toEqual(['normalised-text']);
    const bytes = validateBundle(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(chain.bundle)]));
    expect(bytes.ok).toBe(true);
    expect(warningRules(bytes)).toEqual(['normalised-text']);
  });

  it('ignores blank lines between blocks silently', () => {
    const result = validateBundle(`\n\n${chain.leaf.keyPem}\n\n\n${chain.leaf.certPem}\n   \n${chain.intermediates[0]!.certPem}\n\n`);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([]);
  });

  it('accepts Bag Attributes and an openssl -text dump around blocks, with a warning', () => {
    const bag = 'Bag Attributes\n    localKeyID: 01 00 00 00\n    friendlyName: example\nKey Attributes: <No Attributes>\n';
    const dump = 'Certificate:\n    Data:\n        Version: 3 (0x2)\n        Serial Number: 01\n    Signature Algorithm: ecdsa-with-SHA256\n';
    const result = validateBundle(`${bag}${chain.leaf.keyPem}${bag}subject=CN = localhost\n${dump}${chain.leaf.certPem}${dump}${chain.intermediates[0]!.certPem}trailing words\n`);
    expect(result.ok).toBe(true);
    expect(warningRules(result)).toEqual(['normalised-text']);
  });

  it('accepts indented blocks with a warning', () => {
    const indented = chain.bundle.split('\n').map((line) => (line ? `    ${line}` : line)).join('\n');
    const result = validateBundle(indented);
    expect(result.ok).toBe(true);
    expect(warningRules(result)).toEqual(['normalised-text']);
  });

  it('ignores an EC PARAMETERS block (openssl ecparam -genkey output) with a warning', () => {
    const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';
    const result = validateBundle(`${params}${toSec1Pem(chain.leaf.keyPem)}${chain.leaf.certPem}${chain.intermediates[0]!.certPem}`);
    expect(result.ok).toBe(true);
    expect(warningRules(result)).toContain('normalised-text');
  });

  it('stores canonical PEM: 64-column base64 whatever the input wrapping', () => {
    const oneLine = chain.leaf.certPem.replace(/\n(?!-----END)/g, '').replace('-----END', '\n-----END').replace('-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE-----\n');
    const result = validateBundle(pemBundle(chain.leaf.keyPem, oneLine, chain.intermediates[0]!.certPem));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.bundle.certPem).toBe(chain.leaf.cert.toString());
  });
});

describe('rule 1: PEM text, strict about content', () => {
  it('rejects NUL bytes', () => {
    expect(errorRules(validateBundle(`${chain.bundle}\0`))).toEqual(['pem-nul']);
    expect(errorRules(validateBundle(Buffer.from(`${chain.bundle}\0`)))).toEqual(['pem-nul']);
  });

  it('rejects invalid UTF-8', () => {
    expect(errorRules(validateBundle(Buffer.concat([Buffer.from(chain.bundle), Buffer.from([0xc3, 0x28])])))).toEqual(['pem-encoding']);
  });

  it('rejects DER with a conversion hint', () => {
    const result = validateBundle(chain.leaf.cert.raw);
    expect(errorRules(result)).toEqual(['pem-der']);
    expect(result.ok ? '' : result.errors[0]!.message).toContain('openssl x509 -inform der');
  });

  it('rejects an empty upload', () => {
    expect(errorRules(validateBundle(''))).toEqual(['pem-empty']);
    expect(errorRules(validateBundle('just some text\n'))).toEqual(['pem-empty']);
  });

  it('rejects damaged base64, naming the block', () => {
    const lines = chain.leaf.certPem.split('\n');
    lines[3] = `${lines[3]!.slice(0, 10)}!${lines[3]!.slice(11)}`;
    const badChar = validateBundle(pemBundle(chain.leaf.keyPem, lines.join('\n'), chain.intermediates[0]!.certPem));
    expect(errorRules(badChar)).toEqual(['pem-base64']);
    expect(badChar.ok ? undefined : badChar.errors[0]!.block).toBe(2);
    expect(badChar.ok ? '' : badChar.errors[0]!.message).toMatch(/^block 2 /);

    const cut = chain.leaf.certPem.split('\n');
    cut.splice(2, 1);
    const truncated = validateBundle(pemBundle(chain.leaf.keyPem, cut.join('\n'), chain.intermediates[0]!.certPem));
    expect(errorRules(truncated)).toEqual(['pem-base64']);
  });

  it('rejects a missing END line', () => {
    const noEnd = chain.leaf.certPem.replace('-----END CERTIFICATE-----', '');
    const result = validateBundle(pemBundle(chain.leaf.keyPem, noEnd, chain.intermediates[0]!.certPem));
    expect(errorRules(result)).toEqual(['pem-missing-end']);
    expect(result.ok ? undefined : result.errors[0]!.block).toBe(2);
    expect(errorRules(validateBundle(chain.bundle.replace(/-----END CERTIFICATE-----\n$/, '')))).toEqual(['pem-missing-end']);
  });

  it('rejects mismatched BEGIN/END labels', () => {
    const mixed = chain.leaf.certPem.replace('-----END CERTIFICATE-----', '-----END PRIVATE KEY-----');
    const result = validateBundle(pemBundle(chain.leaf.keyPem, mixed, chain.intermediates[0]!.certPem));
    expect(errorRules(result)).toEqual(['pem-label-mismatch']);
    expect(result.ok ? '' : result.errors[0]!.message).toMatch(/^block 2 /);
  });

  it('rejects an END line without BEGIN', () => {
    expect(errorRules(validateBundle(`${chain.bundle}-----END CERTIFICATE-----\n`))).toEqual(['pem-syntax']);
  });

  it('rejects PEM headers inside a certificate block', () => {
    const withHeaders = chain.leaf.certPem.replace('-----BEGIN CERTIFICATE-----\n', '-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n');
    const result = validateBundle(pemBundle(chain.leaf.keyPem, withHeaders, chain.intermediates[0]!.certPem));
    expect(errorRules(result)).toEqual(['pem-headers']);
  });

  it.each([
    ['CERTIFICATE REQUEST', 'certificate request'],
    ['PKCS7', 'openssl pkcs7'],
    ['TRUSTED CERTIFICATE', 'openssl x509'],
    ['X509 CRL', 'remove it'],
    ['SOMETHING ODD', 'unknown label'],
  ])('rejects a %s block', (label, hint) => {
    const result = validateBundle(pemBundle(chain.bundle, relabel(chain.root.certPem, label)));
    expect(errorRules(result)).toEqual(['pem-block-type']);
    expect(result.ok ? undefined : result.errors[0]!.block).toBe(4);
    expect(result.ok ? '' : result.errors[0]!.message).toContain(hint);
  });

  it('rejects a PUBLIC KEY block', () => {
    const publicPem = createPublicKey(chain.leaf.keyPem).export({ type: 'spki', format: 'pem' }).toString();
    expect(errorRules(validateBundle(pemBundle(chain.bundle, publicPem)))).toEqual(['pem-block-type']);
  });

  it('reports every broken block, not just the first', () => {
    const noEnd = chain.intermediates[0]!.certPem.replace('-----END CERTIFICATE-----', '');
    const mixed = chain.leaf.certPem.replace('-----END CERTIFICATE-----', '-----END PRIVATE KEY-----');
    const result = validateBundle(pemBundle(chain.leaf.keyPem, mixed, relabel(chain.root.certPem, 'PKCS7'), noEnd));
    expect(errorRules(result).sort()).toEqual(['pem-block-type', 'pem-label-mismatch', 'pem-missing-end']);
  });
});

describe('rule 1: abuse guards', () => {
  // CPU time, not wall-clock: a busy machine may pause this process, but cannot make the validation cost more.
  const fast = (input: string | Uint8Array): BundleValidation => {
    const started = process.cpuUsage();
    const result = validateBundle(input);
    const cpu = process.cpuUsage(started);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(1000);
    return result;
  };

  it('rejects 10,000 tiny blocks quickly', () => {
    const tiny = '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n';
    expect(errorRules(fast(tiny.repeat(10_000)))).toEqual(['pem-too-many-blocks']);
  });

  it('rejects a 100 KB base64 line quickly', () => {
    const line = 'QUFB'.repeat(25_000);
    expect(errorRules(fast(`${chain.leaf.keyPem}-----BEGIN CERTIFICATE-----\n${line}\n-----END CERTIFICATE-----\n`))).toEqual(['pem-base64']);
  });

  it('rejects 11 certificates (chain-too-long) without parsing them all', () => {
    const many = Array.from({ length: 11 }, () => chain.intermediates[0]!.certPem);
    expect(errorRules(fast(pemBundle(chain.leaf.keyPem, ...many)))).toEqual(['chain-too-long']);
  });

  it('rejects more than 1 MiB, as text and as bytes', () => {
    const big = `${chain.bundle}${' '.repeat(1024 * 1024)}`;
    expect(errorRules(fast(big))).toEqual(['pem-too-large']);
    expect(errorRules(fast(Buffer.from(big)))).toEqual(['pem-too-large']);
  });

  it('handles 1 MiB of unbalanced markers and junk quickly', () => {
    const junk = '-----BEGIN CERTIFICATE-----\n'.repeat(30) + 'x'.repeat(1000 * 1000);
    expect(errorRules(fast(junk)).length).toBeGreaterThan(0);
    expect(errorRules(fast('-----BEGIN '.repeat(90_000))).length).toBeGreaterThan(0);
  });
});
