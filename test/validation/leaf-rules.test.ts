import { describe, expect, it } from 'vitest';
import { validateBundle, type BundleValidation } from '../../src/validation/validate-bundle.js';
import { createChain } from '../helpers/pki.js';

const errorRules = (r: BundleValidation): string[] => (r.ok ? [] : r.errors.map((e) => e.rule));
const errors = (r: BundleValidation) => (r.ok ? [] : r.errors);

describe('rule 6: the server certificate', () => {
  it('rejects a CA certificate as server certificate', async () => {
    const chain = await createChain({ leaf: { isCa: true, subject: 'CN=localhost', sans: ['localhost'], keyUsage: ['digitalSignature', 'keyCertSign'], extKeyUsage: ['serverAuth'] } });
    const result = validateBundle(chain.bundle);
    expect(errorRules(result)).toEqual(['leaf-is-ca']);
    expect(errors(result)[0]!.message).toMatch(/^block 2 \(CN=localhost\)/);
  });

  it('rejects a CA:TRUE server certificate even without keyCertSign', async () => {
    const chain = await createChain({ leaf: { isCa: true, subject: 'CN=localhost', sans: ['localhost'], keyUsage: ['digitalSignature'], extKeyUsage: ['serverAuth'] } });
    expect(errorRules(validateBundle(chain.bundle))).toEqual(['leaf-is-ca']);
  });

  it('rejects an extended key usage without serverAuth', async () => {
    const chain = await createChain({ leaf: { extKeyUsage: ['clientAuth', 'emailProtection'] } });
    const result = validateBundle(chain.bundle);
    expect(errorRules(result)).toEqual(['leaf-eku']);
    expect(errors(result)[0]!.block).toBe(2);
  });

  it('accepts no extended key usage and no key usage at all', async () => {
    const chain = await createChain({ leaf: { extKeyUsage: [], keyUsage: [] } });
    expect(validateBundle(chain.bundle).ok).toBe(true);
  });

  it('rejects a key usage without digitalSignature on an EC certificate', async () => {
    const chain = await createChain({ leaf: { keyUsage: ['keyEncipherment'] } });
    const result = validateBundle(chain.bundle);
    expect(errorRules(result)).toEqual(['leaf-key-usage']);
    expect(errors(result)[0]!.message).toContain('digitalSignature');
  });

  it('accepts keyEncipherment alone on an RSA certificate', async () => {
    const chain = await createChain({ keyKind: 'rsa2048', leaf: { keyUsage: ['keyEncipherment'] } });
    expect(validateBundle(chain.bundle).ok).toBe(true);
    const bad = await createChain({ keyKind: 'rsa2048', leaf: { keyUsage: ['dataEncipherment'] } });
    expect(errorRules(validateBundle(bad.bundle))).toEqual(['leaf-key-usage']);
  });

  it('rejects an unknown critical extension on the server certificate and on an intermediate', async () => {
    const unknown = [{ oid: '1.3.6.1.4.1.55555.1', critical: true }];
    const leaf = await createChain({ leaf: { extraExtensions: unknown } });
    const result = validateBundle(leaf.bundle);
    expect(errorRules(result)).toEqual(['unknown-critical-extension']);
    expect(errors(result)[0]!.message).toContain('1.3.6.1.4.1.55555.1');
    const intermediate = await createChain({ intermediate: { extraExtensions: unknown } });
    const second = validateBundle(intermediate.bundle);
    expect(errorRules(second)).toEqual(['unknown-critical-extension']);
    expect(errors(second)[0]!.block).toBe(3);
  });

  it('accepts an unknown non-critical extension', async () => {
    const chain = await createChain({ leaf: { extraExtensions: [{ oid: '1.3.6.1.4.1.55555.1', critical: false }] } });
    expect(validateBundle(chain.bundle).ok).toBe(true);
  });

  it('warns when there is no subjectAltName', async () => {
    const chain = await createChain({ sans: [] });
    const result = validateBundle(chain.bundle);
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => w.rule)).toEqual(['no-san']);
    expect(result.warnings[0]!.block).toBe(2);
  });
});
