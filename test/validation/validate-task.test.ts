import { describe, expect, it } from 'vitest';
import { checkTask, runValidateTask, validateInline } from '../../src/validation/validate-task.js';
import validateThread from '../../src/threads/validate-thread.js';
import { trackListeners } from '../helpers/listeners.js';
import { createChain, createRoot, pemBundle } from '../helpers/pki.js';

describe('validation task', () => {
  it('validates and runs the canary (thread entry and runner alike)', async () => {
    const chain = await createChain();
    for (const run of [runValidateTask, validateThread]) {
      const outcome = await run({ pem: chain.bundle });
      expect(outcome.ok).toBe(true);
      expect(outcome.timings.validateMs).toBeGreaterThan(0);
      expect(outcome.timings.canaryMs).toBeGreaterThan(0);
      expect(structuredClone(outcome)).toEqual(outcome);
    }
  });

  it('checks without the canary and passes options through', async () => {
    const chain = await createChain();
    const result = checkTask({ pem: chain.bundle, now: Date.now() + 400 * 24 * 3600 * 1000 });
    expect(result.ok ? [] : result.errors.map((e) => e.rule)).toContain('expired');
    const outcome = await runValidateTask({ pem: chain.bundle, now: Date.now() + 400 * 24 * 3600 * 1000 });
    expect(outcome.ok).toBe(false);
    expect(outcome.timings.canaryMs).toBe(0);
  });

  it('honours requireIntermediate: false (no warning about the server\'s own self-signed default)', async () => {
    const self = await createRoot({ isCa: false, subject: 'CN=localhost', sans: ['localhost'], keyUsage: ['digitalSignature'], extKeyUsage: ['serverAuth'] });
    const pem = pemBundle(self.keyPem, self.certPem);
    expect(checkTask({ pem }).warnings.map((w) => w.rule)).toEqual(['self-signed-leaf']);
    const relaxed = await runValidateTask({ pem, requireIntermediate: false });
    expect(relaxed.ok).toBe(true);
    expect(relaxed.warnings).toEqual([]);
  });

  it('inline (boot, CLI) and in a pool thread alike: runs the canary and opens no listener', async () => {
    const chain = await createChain();
    const listeners = trackListeners();
    try {
      const outcomes = await Promise.all([validateInline({ pem: chain.bundle }), runValidateTask({ pem: chain.bundle })]);
      expect(outcomes.map((o) => o.ok)).toEqual([true, true]);
      expect(outcomes.every((o) => o.timings.canaryMs > 0)).toBe(true);
      expect(await listeners.settle(0)).toBe(0);
    } finally {
      listeners.stop();
    }
  });
});
