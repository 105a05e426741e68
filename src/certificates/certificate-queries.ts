import type { CertificateStore } from '../db/ports.js';
import type { CertificateRow } from '../db/certificates-repo.js';
import { DomainError } from '../domain-errors.js';
import type { ServedState } from './served-state.js';
import { toVersionView, type CertificateVersionView } from './version-view.js';

/** GET …/external, …/history and …/ca: what this process serves, and every stored version. */
export function createCertificateQueries(deps: { repo: Pick<CertificateStore, 'state' | 'active' | 'get' | 'history'>; served: ServedState }) {
  const { repo, served } = deps;

  /** The row this process serves: the database's active one, unless this process could not apply that. */
  async function servedRow(): Promise<CertificateRow | undefined> {
    const snapshot = served.snapshot();
    return (served.outOfSync() && snapshot && (await repo.get(snapshot.version))) || repo.active();
  }

  return {
    servedRow,

    async active(): Promise<CertificateVersionView> {
      const snapshot = served.snapshot();
      if (served.outOfSync() && snapshot) {
        // What this process serves, not what the database calls active (health says out_of_sync).
        const row = await repo.get(snapshot.version);
        if (row) return toVersionView(row, row.version);
      }
      const row = await repo.active();
      if (!row) throw new DomainError('not-ready', 'no certificate is active yet');
      return toVersionView(row, row.version);
    },

    async history(): Promise<CertificateVersionView[]> {
      const [{ activeVersion }, history] = await Promise.all([repo.state(), repo.history()]);
      return history.map((row) => toVersionView(row, activeVersion));
    },

    /** The intermediates of the active bundle as PEM, or null when it has none. */
    async intermediatesPem(): Promise<string | null> {
      const row = await servedRow();
      const chain = row ? (JSON.parse(row.chainPem) as string[]) : [];
      return chain.length > 0 ? chain.map((pem) => pem.trimEnd() + '\n').join('') : null;
    },
  };
}

export type CertificateQueries = ReturnType<typeof createCertificateQueries>;
