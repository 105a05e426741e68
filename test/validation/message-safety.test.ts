import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateBundle, type BundleValidation } from '../../src/validation/validate-bundle.js';
import { createChain, encryptKeyPem, pemBundle, toSec1Pem, type TestChain } from '../helpers/pki.js';

let chain: TestChain;
let keyLines: string[];
beforeAll(async () => {
  chain = await createChain();
  const variants = [chain.leaf.keyPem, toSec1Pem(chain.leaf.keyPem), encryptKeyPem(chain.leaf.keyPem)];
  keyLines = variants.flatMap((pem) => pem.split('\n')).filter((line) => line.length >= 16 && !line.startsWith('-----'));
});

function findings(result: BundleValidation) {
  return [...(result.ok ? [] : result.errors), ...result.warnings];
}

function expectSafe(result: BundleValidation): void {
  for (const f of findings(result)) {
    expect(f.rule).toMatch(/^[a-z0-9-]+$/);
    expect(f.message.length).toBeGreaterThan(10);
    for (const line of keyLines) {
      expect(f.message).not.toContain(line);
      expect(f.message).not.toContain(line.slice(0, 16));
    }
    if (f.block !== undefined) expect(f.message).toContain(`block ${f.block}`);
  }
}

describe('findings never leak key material', () => {
  it('for hand-picked broken bundles', () => {
    const key = chain.leaf.keyPem;
    const cert = chain.leaf.certPem;
    const ca = chain.intermediates[0]!.certPem;
    const bundles = [
      pemBundle(key.replace('-----END PRIVATE KEY-----', '-----END CERTIFICATE-----'), cert, ca),
      pemBundle(key.replace('-----END PRIVATE KEY-----', ''), cert, ca),
      pemBundle(key.replace(/PRIVATE KEY/g, 'CERTIFICATE'), cert, ca),
      pemBundle(key.replace(/PRIVATE KEY/g, 'PUBLIC KEY'), cert, ca),
      pemBundle(key.replace(/PRIVATE KEY/g, 'WEIRD LABEL'), cert, ca),
      pemBundle(key.replace(/\n(?=[A-Za-z0-9])/, '\nProc-Type: 4,ENCRYPTED\n'), cert, ca),
      pemBundle(key.slice(0, 60) + '*' + key.slice(61), cert, ca),
      pemBundle(key, key, cert, ca),
      pemBundle(encryptKeyPem(key), cert, ca),
      pemBundle(encryptKeyPem(key, 'legacy'), cert, ca),
      pemBundle(`-----BEGIN ${key.split('\n')[1]}-----`, key, cert),
      pemBundle(key),
      key.split('\n').slice(1, -2).join('\n'),
      `${key}-----END ${key.split('\n')[2]}-----\n`,
    ];
    for (const bundle of bundles) {
      const result = validateBundle(bundle);
      expect(result.ok).toBe(false);
      expectSafe(result);
    }
  });

  it('for random damage to a good bundle (never throws, never internal, never leaks)', () => {
    const good = chain.bundle;
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(good.length), cut: fc.nat(40), insert: fc.string({ maxLength: 8 }) }), { minLength: 1, maxLength: 4 }),
        (edits) => {
          let text = good;
          for (const { at, cut, insert } of edits) text = text.slice(0, at % (text.length + 1)) + insert + text.slice((at % (text.length + 1)) + cut);
          const result = validateBundle(text);
          expect(findings(result).map((f) => f.rule)).not.toContain('internal');
          expectSafe(result);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const result = validateBundle(bytes);
        expect(result.ok).toBe(false);
        expectSafe(result);
      }),
      { numRuns: 300 },
    );
  });
});
