import { afterEach, describe, expect, it } from 'vitest';
import { createValidationPool, PoolSaturatedError, ValidationTimeoutError, type ValidationPool } from '../../src/workers/validation-pool.js';
import { createChain } from '../helpers/pki.js';

describe('validation pool', () => {
  let pool: ValidationPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('validates in a worker thread and returns plain results', async () => {
    pool = createValidationPool({ maxThreads: 1 });
    const chain = await createChain();
    const outcome = await pool.validate({ pem: chain.bundle });
    expect(outcome.ok).toBe(true);
    expect(outcome.timings.canaryMs).toBeGreaterThan(0);
  });

  it('stops a validation that exceeds the time limit and stays usable afterwards', async () => {
    pool = createValidationPool({ maxThreads: 1, taskTimeoutMs: 300 });
    const chain = await createChain();
    await expect(pool.validate({ pem: chain.bundle, sleepMs: 2000 })).rejects.toBeInstanceOf(ValidationTimeoutError);
    const outcome = await pool.validate({ pem: chain.bundle });
    expect(outcome.ok).toBe(true);
  });

  it('refuses work instead of queueing without bound', async () => {
    pool = createValidationPool({ maxThreads: 1, maxQueue: 2, taskTimeoutMs: 3000 });
    const chain = await createChain();
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => pool!.validate({ pem: chain.bundle, sleepMs: 200 })));
    const saturated = results.filter((r) => r.status === 'rejected' && r.reason instanceof PoolSaturatedError);
    expect(saturated.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThan(0);
  });
});
