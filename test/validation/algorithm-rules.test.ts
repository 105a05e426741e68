import { describe, expect, it } from 'vitest';
import { validateBundle, type BundleValidation } from '../../src/validation/validate-bundle.js';
import { createChain, createRoot, issue, pemBundle } from '../helpers/pki.js';

const errors = (r: BundleValidation) => (r.ok ? [] : r.errors);

describe('rule 7: signatures', () => {
  it('rejects a SHA-1 signed server certificate', async () => {
    const chain = await createChain({ keyKind: 'rsa2048', leaf: { signatureHash: 'SHA-1' } });
    const result = validateBundle(chain.bundle);
    expect(errors(result).map((e) => e.rule)).toEqual(['weak-signature']);
    expect(errors(result)[0]!.message).toMatch(/^block 2 \(CN=localhost\) is signed with SHA-1 with RSA/);
  });

  it('rejects an MD5 signed intermediate', async () => {
    const chain = await createChain({ keyKind: 'rsa2048', intermediate: { signatureHash: 'MD5' } });
    const result = validateBundle(chain.bundle);
    expect(errors(result).map((e) => e.rule)).toEqual(['weak-signature']);
    expect(errors(result)[0]!.block).toBe(3);
  });

  it('rejects ECDSA with SHA-1', async () => {
    const chain = await createChain({ leaf: { signatureHash: 'SHA-1' } });
    expect(errors(validateBundle(chain.bundle)).map((e) => e.rule)).toEqual(['weak-signature']);
  });

  it("accepts a root's SHA-1 self-signature (the root is dropped)", async () => {
    const root = await createRoot({ keyKind: 'rsa2048', signatureHash: 'SHA-1' });
    const intermediate = await issue(root, { isCa: true });
    const leaf = await issue(intermediate);
    const result = validateBundle(pemBundle(leaf.keyPem, leaf.certPem, intermediate.certPem, root.certPem));
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => w.rule)).toEqual(['root-dropped']);
  });

  it('accepts SHA-384 and SHA-512', async () => {
    const chain = await createChain({ keyKind: 'ec384', leaf: { signatureHash: 'SHA-384' }, intermediate: { signatureHash: 'SHA-512' } });
    expect(validateBundle(chain.bundle).ok).toBe(true);
  });
});
