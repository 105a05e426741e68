import type { Finding } from '../validation/findings.js';
import type { NormalizedBundle } from '../validation/validate-bundle.js';
import type { ValidateOutcome, ValidateTask } from '../validation/validate-task.js';
import { createSelfSigned } from './self-signed.js';

/** A fresh self-signed default, validated like any upload (reset, and boot when nothing stored can be served). */
export async function createDefaultBundle(
  validate: (task: ValidateTask) => Promise<ValidateOutcome>,
  now: number,
  hostname?: string,
): Promise<{ bundle: NormalizedBundle; warnings: Finding[] }> {
  const selfSigned = await createSelfSigned(now, hostname);
  const outcome = await validate({ pem: `${selfSigned.keyPem}\n${selfSigned.certPem}`, requireIntermediate: false, now });
  if (!outcome.ok) throw new Error(`the built-in self-signed certificate failed validation: ${outcome.errors.map((e) => e.rule).join(', ')}`);
  return { bundle: outcome.bundle, warnings: outcome.warnings };
}
