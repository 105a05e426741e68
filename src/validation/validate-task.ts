import { canaryHandshake } from '../tls/canary.js';
import type { Finding } from './findings.js';
import { pkcs12ToPem } from './pkcs12.js';
import { validateBundle, type BundleValidation } from './validate-bundle.js';

/** What one validation needs: plain data only, it is structured-cloned across the thread boundary. */
export interface ValidateTask {
  pem: string | Uint8Array;
  now?: number;
  requireIntermediate?: boolean;
  /** A key hotcert generated for a CSR, for an upload that holds none (the certificate issued for that CSR). */
  pendingKeyPem?: string;
  /** A PKCS#12 (PFX) upload: converted to PEM first (PBKDF iterations are CPU work, so in the worker); `pem` is then ignored. */
  pkcs12?: { der: Uint8Array; password: string };
}

export type ValidateOutcome = BundleValidation & { timings: { validateMs: number; canaryMs: number } };

/** Rules 1-7 (PKCS#12 conversion included), without the canary: pure. */
export function checkTask(task: ValidateTask): BundleValidation {
  let pem = task.pem;
  let converted: Finding[] = [];
  if (task.pkcs12) {
    const conversion = pkcs12ToPem(task.pkcs12.der, task.pkcs12.password);
    if (!conversion.ok) return conversion;
    pem = conversion.pem;
    converted = conversion.warnings;
  }
  const validated = validateBundle(pem, { now: task.now, requireIntermediate: task.requireIntermediate, pendingKeyPem: task.pendingKeyPem });
  return { ...validated, warnings: [...converted, ...validated.warnings] };
}

/** Rules 1-8: the checks, then the canary handshake for a bundle that passed them. What the pool's threads run. */
export async function runValidateTask(task: ValidateTask): Promise<ValidateOutcome> {
  const started = performance.now();
  const result = checkTask(task);
  const validateMs = performance.now() - started;
  if (!result.ok) return { ...result, timings: { validateMs, canaryMs: 0 } };
  const canaryStarted = performance.now();
  const problem = await canaryHandshake(result.bundle);
  const canaryMs = performance.now() - canaryStarted;
  if (problem) return { ok: false, errors: [problem], warnings: result.warnings, timings: { validateMs, canaryMs } };
  return { ...result, timings: { validateMs, canaryMs } };
}

/** The same in the calling thread (boot, the CLI). The canary runs over an in-memory pipe: nothing listens. */
export async function validateInline(task: ValidateTask): Promise<ValidateOutcome> {
  return runValidateTask(task);
}
