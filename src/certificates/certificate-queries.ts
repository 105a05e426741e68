import type { CertificateRow, CertificatesRepo } from '../db/certificates-repo.js';
import { DomainError } from '../domain-errors.js';
import type { ServedState } from './served-state.js';
import { toVersionView, type CertificateVersionView } from './version-view.js';

/** GET …/external, …/history and …/ca: what this process serves, and every stored version. */
export function createCertificateQueries(deps: { repo: Pick<CertificatesRepo, 'state' | 'active' | 'get' | 'history'>; served: ServedState }) {
  const { repo, served } = deps;

  /** The row this process serves: the database's active one, unless this process could not apply that. */
  function servedRow(): CertificateRow | undefined {
    const snapshot = served.snapshot();
    return (served.outOfSync() && snapshot && repo.get(snapshot.version)) || repo.active();
  }

  return {
    servedRow,

    active(): CertificateVersionView {
      const snapshot = served.snapshot();
      if (served.outOfSync() && snapshot) {
        // What this process serves, not what the database calls active (health says out_of_sync).
        const row = repo.get(snapshot.version);
        if (row) return toVersionView(row, row.version);
      }
      const row = repo.active();
      if (!row) throw new DomainError('not-ready', 'no certificate is active yet');
      return toVersionView(row, row.version);
    },

    history(): CertificateVersionView[] {
      const { activeVersion } = repo.state();
      return repo.history().map((row) => toVersionView(row, activeVersion));
    },

    /** The intermediates of the active bundle as PEM, or null when it has none. */
    intermediatesPem(): string | null {
      const row = servedRow();
      const chain = row ? (JSON.parse(row.chainPem) as string[]) : [];
      return chain.length > 0 ? chain.map((pem) => pem.trimEnd() + '\n').join('') : null;
    },
  };
}

export type CertificateQueries = ReturnType<typeof createCertificateQueries>;
