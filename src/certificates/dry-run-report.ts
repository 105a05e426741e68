import type { ValidateOutcome } from '../validation/validate-task.js';
import type { DryRunReport } from './certificate-service.js';

/** The dry-run answer's report, shared by `POST …?dry_run=true` and `hotcert check|import --json`. */
export function toDryRunReport(outcome: ValidateOutcome): DryRunReport {
  return outcome.ok
    ? { valid: true, errors: [], warnings: outcome.warnings, certificate: { ...outcome.bundle.certificate, chain: outcome.bundle.chain } }
    : { valid: false, errors: outcome.errors, warnings: outcome.warnings };
}
