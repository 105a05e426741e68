import type { AuditStore, CertificateStore } from '../db/ports.js';
import type { ValidateOutcome, ValidateTask } from '../validation/validate-task.js';
import { createActivation, type ActivationDeps } from './activation.js';
import { bootCertificate } from './boot-policy.js';
import { createCertificateChanges, type PendingKeys } from './certificate-changes.js';
import { createCertificateHealth } from './certificate-health.js';
import { createCertificateQueries } from './certificate-queries.js';
import { createCertificateSync } from './certificate-sync.js';
import { createDefaultBundle } from './default-bundle.js';
import { createValidationRunner } from './run-validation.js';
import type { LastKnownGoodFile } from './last-known-good.js';
import { createServedState } from './served-state.js';
import type { StoredSummary } from './version-view.js';
import { seal } from '../secrets/seal.js';

export { normaliseFingerprint, type ChangeContext } from './activation.js';
export type { DryRunReport, UploadInput, UploadTimings } from './certificate-changes.js';
export type { CertificateStatus } from './certificate-health.js';

/** What activation needs (activation.ts), plus what the other parts need: one list, not two. */
export interface CertificateServiceDeps extends Pick<ActivationDeps, 'identities' | 'masterKey' | 'ticketKeys' | 'clock' | 'logger' | 'metrics' | 'events'> {
  repo: CertificateStore;
  audit: AuditStore;
  validate: (task: ValidateTask) => Promise<ValidateOutcome>;
  /** The server commits activations on a writer thread (see db/write-thread.ts); without it, in this thread. */
  commitActivation?: ActivationDeps['commit'];
  /** Boot runs before anything listens, so it validates in this thread and never waits on the pool. */
  validateAtBoot?: (task: ValidateTask) => Promise<ValidateOutcome>;
  hostname?: string | undefined;
  pendingKeys?: PendingKeys | undefined;
  /** With a shared database: every version served here is also kept in DATA_DIR (last-known-good.ts). */
  lastKnownGood?: LastKnownGoodFile | undefined;
}

/**
 * The server certificate, wired from its parts: activation.ts (the one path to serving), boot-policy.ts
 * (SPEC §5), certificate-sync.ts (other processes), certificate-health.ts, certificate-queries.ts and
 * certificate-changes.ts (upload, dry run, rollback, reset).
 */
export function createCertificateService(deps: CertificateServiceDeps) {
  const { repo, clock, logger, metrics, events } = deps;
  const served = createServedState({ clock, metrics });
  const onServed = deps.lastKnownGood ? (entry: Parameters<LastKnownGoodFile['remember']>[0]) => void deps.lastKnownGood!.remember(entry) : undefined;
  const activation = createActivation({ repo, commit: deps.commitActivation, identities: deps.identities, served, masterKey: deps.masterKey, ticketKeys: deps.ticketKeys, clock, logger, metrics, events, onServed });
  const queries = createCertificateQueries({ repo, served });
  const health = createCertificateHealth({ repo, served, queries, clock, logger, events });
  const sync = createCertificateSync({ repo, activation, served, identities: deps.identities, masterKey: deps.masterKey, ticketKeys: deps.ticketKeys, clock, logger, onServed });
  const validation = createValidationRunner({ validate: deps.validate, audit: deps.audit, logger, metrics, events });
  const createDefault = (validate = deps.validate) => createDefaultBundle(validate, clock(), deps.hostname);
  const changes = createCertificateChanges({ repo, activation, validation, createDefault, masterKey: deps.masterKey, clock, metrics, pendingKeys: deps.pendingKeys });

  return {
    async bootstrap(): Promise<{ fallbackReason: string | null }> {
      const result = await bootCertificate({ repo, activation, masterKey: deps.masterKey, ticketKeys: deps.ticketKeys, createDefault: () => createDefault(deps.validateAtBoot), clock, logger });
      await health.checkExpiry();
      return result;
    },
    /**
     * The shared database cannot be reached at boot (issue 13 item 4): serve the last-known-good bundle of
     * this instance, else a temporary self-signed one kept in memory only; nothing is written anywhere.
     * `bootstrap` runs once the database is back and replaces it by what the database calls active.
     */
    async bootWithoutDatabase(): Promise<{ fallbackReason: string | null; served: 'last-known-good' | 'temporary-default' }> {
      const loaded = deps.lastKnownGood?.load(deps.masterKey) ?? { problem: 'no last-known-good file is kept' };
      if ('entry' in loaded) {
        const { row, generation, fallbackReason } = loaded.entry;
        activation.serveWithoutDatabase(row, loaded.identity, generation, fallbackReason);
        logger.warn({ event: 'certificate.last_known_good', version: row.version, fingerprint_sha256: row.fingerprint }, 'database unreachable at boot: serving the last-known-good certificate');
        return { fallbackReason, served: 'last-known-good' };
      }
      const { bundle, warnings } = await createDefault(deps.validateAtBoot);
      const fingerprint = bundle.certificate.fingerprint_sha256;
      const reason = `the database is unreachable and this instance has no usable last-known-good certificate (${loaded.problem}): serving a temporary self-signed certificate until the database is back`;
      const row = {
        version: 0,
        source: 'default' as const,
        certPem: bundle.certPem,
        chainPem: JSON.stringify(bundle.chainPems),
        keySealed: seal(deps.masterKey, bundle.keyPem, fingerprint),
        fingerprint,
        summaryJson: JSON.stringify({ certificate: bundle.certificate, chain: bundle.chain } satisfies StoredSummary),
        warningsJson: JSON.stringify(warnings),
        createdAt: clock(),
        createdBy: 'system',
      };
      activation.serveWithoutDatabase(row, { fingerprint, keyPem: bundle.keyPem, certPem: bundle.certPem, chainPems: bundle.chainPems }, -1, reason);
      logger.warn({ event: 'certificate.fallback', fingerprint_sha256: fingerprint, reason }, 'database unreachable at boot: serving a temporary self-signed certificate');
      return { fallbackReason: reason, served: 'temporary-default' };
    },
    active: queries.active,
    history: queries.history,
    intermediatesPem: queries.intermediatesPem,
    dryRun: changes.dryRun,
    upload: changes.upload,
    rollback: changes.rollback,
    reset: changes.reset,
    syncFromDatabase: sync.syncFromDatabase,
    refreshTicketKeys: sync.refreshTicketKeys,
    health: health.health,
    checkExpiry: health.checkExpiry,
  };
}

export type CertificateService = ReturnType<typeof createCertificateService>;
