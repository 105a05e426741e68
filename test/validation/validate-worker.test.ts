import { describe, expect, it } from 'vitest';
import validate from '../../src/workers/validate-worker.js';
import { createChain } from '../helpers/pki.js';

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

  it('honours requireIntermediate: false', async () => {
    const chain = await createChain();
    const pem = `${chain.leaf.keyPem}${chain.leaf.certPem}`;
    expect((await validate({ pem, canary: false })).ok).toBe(false);
    expect((await validate({ pem, requireIntermediate: false })).ok).toBe(true);
  });

  it('blocks for sleepMs first (test hook for the pool timeout)', async () => {
    const chain = await createChain();
    const started = performance.now();
    await validate({ pem: chain.bundle, canary: false, sleepMs: 200 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });
});
