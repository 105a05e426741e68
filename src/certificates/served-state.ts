import type { CertificateRow } from '../db/certificates-repo.js';
import type { Metrics } from '../observability/metrics.js';

/** What health and metrics report: the version this process serves (not necessarily what the database says). */
export interface ServedSnapshot {
  version: number;
  fingerprint: string;
  notAfter: number;
  fallbackReason: string | null;
}

/**
 * The one record of what this process serves and which certificate generation it has applied.
 * activation.ts writes it; health, queries and sync read it.
 */
export function createServedState(deps: { clock: () => number; metrics?: Metrics | undefined }) {
  let snapshot: ServedSnapshot | undefined;
  /** The stored version behind `snapshot`: GET answers from it while the shared database is unreachable. */
  let row: CertificateRow | undefined;
  let generation = -1;
  /** The database names an active version this process could not apply; it keeps serving `snapshot`. */
  let outOfSync: { version: number; reason: string } | undefined;

  function publishGauges(): void {
    if (!snapshot || !deps.metrics) return;
    deps.metrics.setActiveCertificate({
      fingerprint: snapshot.fingerprint,
      version: snapshot.version,
      notAfter: snapshot.notAfter,
      expired: snapshot.notAfter < deps.clock(),
      fallback: snapshot.fallbackReason !== null,
    });
  }

  return {
    snapshot: () => snapshot,
    row: () => row,
    generation: () => generation,
    outOfSync: () => outOfSync,
    /** A version is served now, matching the database at `atGeneration`. */
    applied(next: ServedSnapshot, atGeneration: number, servedRow?: CertificateRow): void {
      snapshot = next;
      row = servedRow?.fingerprint === next.fingerprint ? servedRow : undefined;
      generation = atGeneration;
      outOfSync = undefined;
      deps.metrics?.outOfSync(false);
      publishGauges();
    },
    /** The database moved to `atGeneration` but this process keeps serving what it has. */
    couldNotApply(atGeneration: number, problem: { version: number; reason: string }): void {
      generation = atGeneration;
      outOfSync = problem;
      deps.metrics?.outOfSync(true);
    },
    /** Refreshes the expiry gauge (time passes without a change). */
    publishGauges,
  };
}

export type ServedState = ReturnType<typeof createServedState>;
