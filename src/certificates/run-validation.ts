import type { AuditStore } from '../db/ports.js';
import type { Logger } from 'pino';

import { DomainError } from '../domain-errors.js';
import type { EventBus } from '../events/events.js';
import type { Metrics } from '../observability/metrics.js';
import { PoolSaturatedError, ValidationTimeoutError } from '../workers/validation-pool.js';
import type { ValidateOutcome, ValidateTask } from '../validation/validate-task.js';
import type { ChangeContext } from './activation.js';

export interface ValidationDeps {
  validate: (task: ValidateTask) => Promise<ValidateOutcome>;
  audit: AuditStore;
  logger: Logger;
  metrics?: Metrics | undefined;
  events?: EventBus | undefined;
}

export interface ValidationRunner {
  run(task: ValidateTask): Promise<ValidateOutcome>;
  /** Metrics, audit, log and event for a refused bundle; answers the domain error to throw. */
  rejection(outcome: Extract<ValidateOutcome, { ok: false }>, context: ChangeContext, action: string): Promise<DomainError>;
}

/** Validation in the pool, timed, with the pool's refusals as domain errors; and the one way a rejection is reported. */
export function createValidationRunner(deps: ValidationDeps): ValidationRunner {
  return {
    async run(task: ValidateTask): Promise<ValidateOutcome> {
      const started = performance.now();
      try {
        const outcome = await deps.validate(task);
        deps.metrics?.validated((performance.now() - started) / 1000);
        return outcome;
      } catch (error) {
        if (error instanceof PoolSaturatedError) throw new DomainError('busy', 'the validation pool is busy; retry shortly', { retryAfterSeconds: 1 });
        if (error instanceof ValidationTimeoutError) {
          deps.metrics?.rejected(['timeout']);
          throw new DomainError('busy', 'validation took longer than 5 s and was stopped; retry, or check the bundle with hotcert check', { retryAfterSeconds: 5 });
        }
        throw error;
      }
    },

    async rejection(outcome: Extract<ValidateOutcome, { ok: false }>, context: ChangeContext, action: string): Promise<DomainError> {
      const rules = outcome.errors.map((finding) => finding.rule);
      deps.metrics?.rejected(rules);
      await deps.audit.record({ actor: context.actor, clientAddress: context.address, action, details: { rules } });
      deps.logger.warn({ event: 'certificate.rejected', rules, actor: context.actor }, 'certificate rejected');
      deps.events?.emit({ type: 'certificate.rejected', rules, actor: context.actor, action });
      return new DomainError('invalid-bundle', outcome.errors.map((finding) => finding.message));
    },
  };
}
