import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createValidationPool, PoolSaturatedError, workerOldGenerationMb, ValidationTimeoutError, type ValidationPool } from '../../src/workers/validation-pool.js';
import { createChain } from '../helpers/pki.js';
import { slowValidateThread, type SlowTask } from '../helpers/slow-validate-thread.js';

// Limits the tests do not mean to hit: a busy machine may be slow, never this slow.
const GENEROUS_MS = 30_000;

describe('validation pool', () => {
  let pool: ValidationPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('validates in a worker thread and returns plain results', async () => {
    pool = createValidationPool({ maxThreads: 1, taskTimeoutMs: GENEROUS_MS });
    const chain = await createChain();
    const outcome = await pool.validate({ pem: chain.bundle });
    expect(outcome.ok).toBe(true);
    expect(outcome.timings.canaryMs).toBeGreaterThan(0);
  });

  it('stops a validation that exceeds the time limit and stays usable afterwards', async () => {
    pool = createValidationPool({ filename: slowValidateThread, maxThreads: 1, taskTimeoutMs: 300 });
    const chain = await createChain();
    // A task that would block its only thread for a minute: it times out however slow the machine is.
    await expect(pool.validate({ pem: chain.bundle, sleepMs: 60_000 } as SlowTask)).rejects.toBeInstanceOf(ValidationTimeoutError);
    // One thread: this can only succeed if the blocked thread was stopped rather than left to finish its minute.
    const outcome = await pool.validate({ pem: chain.bundle }, { timeoutMs: GENEROUS_MS });
    expect(outcome.ok).toBe(true);
  }, 60_000);

  it('refuses work instead of queueing without bound', async () => {
    const maxQueue = 2;
    pool = createValidationPool({ filename: slowValidateThread, maxThreads: 1, maxQueue, taskTimeoutMs: GENEROUS_MS });
    const chain = await createChain();
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => pool!.validate({ pem: chain.bundle, sleepMs: 200 } as SlowTask)));
    const saturated = results.filter((r) => r.status === 'rejected' && r.reason instanceof PoolSaturatedError);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    // Every task is either done or refused; at most one running plus `maxQueue` waiting were accepted.
    expect(saturated.length + fulfilled.length).toBe(8);
    expect(fulfilled.length).toBeGreaterThan(0);
    expect(fulfilled.length).toBeLessThanOrEqual(1 + maxQueue);
  }, 60_000);

  it('reads and answers an upload near the default size limit within the capped worker heap', async () => {
    const maxUploadBytes = 1_048_576;
    expect(workerOldGenerationMb(maxUploadBytes)).toBe(24);
    pool = createValidationPool({ maxThreads: 1, taskTimeoutMs: GENEROUS_MS, maxUploadBytes });
    const chain = await createChain();
    // Seven 100 KB blocks after a real bundle: under the 32-block limit, so every block is read and decoded
    // (~1 MB of base64 text and its bytes in the worker) before validation rejects them.
    const block = () => `\n-----BEGIN CERTIFICATE-----\n${randomBytes(100_000).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
    const pem = chain.bundle + Array.from({ length: 7 }, block).join('');
    expect(pem.length).toBeGreaterThan(maxUploadBytes * 0.9);
    expect(pem.length).toBeLessThan(maxUploadBytes);
    // A worker out of memory would reject here (ERR_WORKER_OUT_OF_MEMORY) instead of answering.
    const big = await pool.validate({ pem });
    expect(big.ok).toBe(false);
    expect(big.ok ? [] : big.errors.map((e) => e.rule)).toContain('pem-base64');
    const outcome = await pool.validate({ pem: chain.bundle });
    expect(outcome.ok).toBe(true);
  }, 120_000);
});
