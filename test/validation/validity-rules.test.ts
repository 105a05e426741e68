import { describe, expect, it } from 'vitest';
import { validateBundle, type BundleValidation } from '../../src/validation/validate-bundle.js';
import { createChain, pemBundle } from '../helpers/pki.js';

const errors = (r: BundleValidation) => (r.ok ? [] : r.errors);
const DAY = 24 * 60 * 60 * 1000;
const past = () => ({ notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) });
const future = () => ({ notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 400 * DAY) });

describe('rule 5: every certificate is valid now', () => {
  it.each([
    ['server certificate', 'leaf', 2],
    ['first intermediate', 'intermediate', 3],
  ] as const)('rejects an expired %s, naming its block', async (_name, position, block) => {
    const chain = await createChain(position === 'leaf' ? { leaf: past() } : { intermediate: past() });
    const result = validateBundle(chain.bundle);
    expect(errors(result).map((e) => e.rule)).toEqual(['expired']);
    expect(errors(result)[0]!.block).toBe(block);
    expect(errors(result)[0]!.message).toMatch(new RegExp(`^block ${block} \\(CN=[^)]+\\): certificate expired on \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ; renew it`));
  });

  it.each([
    ['server certificate', 'leaf', 2],
    ['first intermediate', 'intermediate', 3],
  ] as const)('rejects a not-yet-valid %s', async (_name, position, block) => {
    const chain = await createChain(position === 'leaf' ? { leaf: future() } : { intermediate: future() });
    const result = validateBundle(chain.bundle);
    expect(errors(result).map((e) => e.rule)).toEqual(['not-yet-valid']);
    expect(errors(result)[0]!.block).toBe(block);
  });

  it('rejects an expired or not-yet-valid upper intermediate and root', async () => {
    const chain = await createChain({ intermediates: 2, root: past() });
    const withRoot = validateBundle(pemBundle(chain.bundle, chain.root.certPem));
    expect(errors(withRoot).map((e) => e.rule)).toEqual(['expired']);
    expect(errors(withRoot)[0]!.block).toBe(5);
    // the upper intermediate is block 4; judged at a time after it expires
    const upper = chain.intermediates[1]!;
    const later = new Date(upper.cert.validTo).getTime() + DAY;
    const result = validateBundle(chain.bundle, { now: later });
    expect(errors(result).filter((e) => e.block === 4).map((e) => e.rule)).toEqual(['expired']);
    const earlier = validateBundle(chain.bundle, { now: Date.now() - 2 * 60 * 60 * 1000 });
    expect(errors(earlier).map((e) => e.block).sort()).toEqual([2, 3, 4]);
    expect(new Set(errors(earlier).map((e) => e.rule))).toEqual(new Set(['not-yet-valid']));
  });

  it('reports every invalid certificate', async () => {
    const chain = await createChain({ leaf: past(), intermediate: future() });
    expect(errors(validateBundle(chain.bundle)).map((e) => e.rule)).toEqual(['expired', 'not-yet-valid']);
  });

  it('warns when a served certificate expires within 30 days', async () => {
    const chain = await createChain({ leaf: { notAfter: new Date(Date.now() + 10 * DAY) } });
    const result = validateBundle(chain.bundle);
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => w.rule)).toEqual(['expires-soon']);
    expect(result.warnings[0]!.message).toMatch(/^block 2 \(CN=localhost\): certificate expires on/);
  });
});
