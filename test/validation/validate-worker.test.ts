import { describe, expect, it } from 'vitest';
import validate from '../../src/workers/validate-worker.js';
import { createChain, createRoot, pemBundle } from '../helpers/pki.js';

describe('validate worker entry', () => {
  it('validates and runs the canary when called directly', async () => {
    const chain = await createChain();
    const outcome = await validate({ pem: chain.bundle });
    expect(outcome.ok).toBe(true);
    expect(outcome.timings.validateMs).toBeGreaterThan(0);
    expect(outcome.timings.canaryMs).toBeGreaterThan(0);
    expect(structuredClone(outcome)).toEqual(outcome);
  });

  it('skips the canary when asked and passes options through', async () => {
    const chain = await createChain();
    const outcome = await validate({ pem: chain.bundle, canary: false, now: Date.now() + 400 * 24 * 3600 * 1000 });
    expect(outcome.ok).toBe(false);
    expect(outcome.timings.canaryMs).toBe(0);
    expect(outcome.ok ? [] : outcome.errors.map((e) => e.rule)).toContain('expired');
  });

  it('honours requireIntermediate: false (no warning about the server\'s own self-signed default)', async () => {
    const self = await createRoot({ isCa: false, subject: 'CN=localhost', sans: ['localhost'], keyUsage: ['digitalSignature'], extKeyUsage: ['serverAuth'] });
    const pem = pemBundle(self.keyPem, self.certPem);
    expect((await validate({ pem, canary: false })).warnings.map((w) => w.rule)).toEqual(['self-signed-leaf']);
    const relaxed = await validate({ pem, requireIntermediate: false });
    expect(relaxed.ok).toBe(true);
    expect(relaxed.warnings).toEqual([]);
  });

  it('blocks for sleepMs first (test hook for the pool timeout)', async () => {
    const chain = await createChain();
    const started = performance.now();
    await validate({ pem: chain.bundle, canary: false, sleepMs: 200 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });
});
