import { canaryHandshake } from '../tls/canary.js';
import type { Finding } from '../validation/findings.js';
import { pkcs12ToPem } from '../validation/pkcs12.js';
import { validateBundle, type BundleValidation } from '../validation/validate-bundle.js';

/** Piscina task: plain data only, it is structured-cloned across the thread boundary. */
export interface ValidateTask {
  pem: string | Uint8Array;
  now?: number;
  requireIntermediate?: boolean;
  /** A key hotcert generated for a CSR, for an upload that holds none (the certificate issued for that CSR). */
  pendingKeyPem?: string;
  /** A PKCS#12 (PFX) upload: converted to PEM here, in the worker (PBKDF iterations are CPU work); `pem` is then ignored. */
  pkcs12?: { der: Uint8Array; password: string };
  /** Default true. */
  canary?: boolean;
  /** Test hook: block this long first, to exercise the pool's 5 s timeout. */
  sleepMs?: number;
}

export type ValidateOutcome = BundleValidation & { timings: { validateMs: number; canaryMs: number } };

export default async function validate(task: ValidateTask): Promise<ValidateOutcome> {
  if (task.sleepMs !== undefined && task.sleepMs > 0) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, task.sleepMs);
  }
  const started = performance.now();
  let pem = task.pem;
  let converted: Finding[] = [];
  if (task.pkcs12) {
    const conversion = pkcs12ToPem(task.pkcs12.der, task.pkcs12.password);
    if (!conversion.ok) return { ...conversion, timings: { validateMs: performance.now() - started, canaryMs: 0 } };
    pem = conversion.pem;
    converted = conversion.warnings;
  }
  const validated = validateBundle(pem, { now: task.now, requireIntermediate: task.requireIntermediate, pendingKeyPem: task.pendingKeyPem });
  const result: BundleValidation = { ...validated, warnings: [...converted, ...validated.warnings] };
  const validateMs = performance.now() - started;
  if (!result.ok || task.canary === false) return { ...result, timings: { validateMs, canaryMs: 0 } };
  const canaryStarted = performance.now();
  const problem = await canaryHandshake(result.bundle);
  const canaryMs = performance.now() - canaryStarted;
  if (problem) return { ok: false, errors: [problem], warnings: result.warnings, timings: { validateMs, canaryMs } };
  return { ...result, timings: { validateMs, canaryMs } };
}
