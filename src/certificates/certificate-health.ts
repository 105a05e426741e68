import type { CertificateStore } from '../db/ports.js';
import type { Logger } from 'pino';

import type { EventBus } from '../events/events.js';
import type { CertificateQueries } from './certificate-queries.js';
import type { ServedSnapshot, ServedState } from './served-state.js';
import { notAfterOf } from './stored-identity.js';

export type CertificateStatus = 'ok' | 'expiring' | 'expired' | 'fallback' | 'out_of_sync';

export interface CertificateHealth {
  status: CertificateStatus;
  version: number | null;
  not_after: string | null;
  fingerprint_sha256: string | null;
  reason?: string;
}

export interface CertificateHealthDeps {
  repo: Pick<CertificateStore, 'state' | 'active'>;
  served: ServedState;
  queries: Pick<CertificateQueries, 'servedRow'>;
  clock: () => number;
  logger: Logger;
  events?: EventBus | undefined;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const EXPIRY_WARNING_DAYS = [30, 14, 7, 1];

/** `/v1/health`'s certificate part, the expiry warnings and the expiry gauge: about the certificate this process serves. */
export function createCertificateHealth(deps: CertificateHealthDeps) {
  const { repo, served, clock, logger } = deps;
  let lastExpiryWarning: number | undefined;

  /** For the CLI, which serves nothing: what the database calls active. */
  async function databaseSnapshot(): Promise<ServedSnapshot | undefined> {
    const [row, state] = await Promise.all([repo.active(), repo.state()]);
    return row && { version: row.version, fingerprint: row.fingerprint, notAfter: notAfterOf(row), fallbackReason: state.fallbackReason };
  }

  return {
    async health(): Promise<CertificateHealth> {
      // In memory on the server (a probe reads no database); the CLI reads the database.
      const current = served.snapshot() ?? (await databaseSnapshot());
      if (!current) return { status: 'fallback', version: null, not_after: null, fingerprint_sha256: null, reason: 'no certificate is active' };
      const notAfter = current.notAfter;
      const base = { version: current.version, not_after: new Date(notAfter).toISOString(), fingerprint_sha256: current.fingerprint };
      const outOfSync = served.outOfSync();
      if (outOfSync) return { status: 'out_of_sync', ...base, reason: `${outOfSync.reason}; still serving version ${current.version}` };
      if (current.fallbackReason) return { status: 'fallback', ...base, reason: current.fallbackReason };
      if (notAfter < clock()) return { status: 'expired', ...base };
      if (notAfter - clock() < 30 * DAY_MS) return { status: 'expiring', ...base };
      return { status: 'ok', ...base };
    },

    /** Logs once per threshold (30, 14, 7, 1 days, expired); called at boot and by a timer. */
    async checkExpiry(): Promise<void> {
      const row = await deps.queries.servedRow();
      if (!row) return;
      const daysLeft = (notAfterOf(row) - clock()) / DAY_MS;
      const threshold = daysLeft < 0 ? 0 : EXPIRY_WARNING_DAYS.filter((days) => daysLeft <= days).at(-1);
      served.publishGauges();
      if (threshold === undefined || threshold === lastExpiryWarning) return;
      lastExpiryWarning = threshold;
      const fields = { event: threshold === 0 ? 'certificate.expired' : 'certificate.expiring', version: row.version, fingerprint_sha256: row.fingerprint, days_left: Math.floor(daysLeft) };
      const notAfter = new Date(notAfterOf(row)).toISOString();
      if (threshold === 0) {
        logger.error(fields, 'the served certificate has EXPIRED; upload a new one');
        deps.events?.emit({ type: 'certificate.expired', version: row.version, fingerprint_sha256: row.fingerprint, not_after: notAfter });
      } else {
        logger.warn(fields, `the served certificate expires within ${threshold} days`);
        deps.events?.emit({ type: 'certificate.expiring', version: row.version, fingerprint_sha256: row.fingerprint, days_left: fields.days_left, threshold_days: threshold, not_after: notAfter });
      }
    },
  };
}
