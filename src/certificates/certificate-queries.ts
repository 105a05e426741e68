import type { CertificateStore } from '../db/ports.js';
import type { CertificateRow } from '../db/certificates-repo.js';
import { isDatabaseUnavailable } from '../db/database-unavailable.js';
import { DomainError } from '../domain-errors.js';
import type { ServedState } from './served-state.js';
import { toVersionView, type CertificateVersionView } from './version-view.js';

/** GET …/external, …/history and …/ca: what this process serves, and every stored version. */
export function createCertificateQueries(deps: { repo: Pick<CertificateStore, 'state' | 'active' | 'get' | 'history'>; served: ServedState }) {
  const { repo, served } = deps;

  /** What this process serves, from memory, when the shared database cannot be asked (an outage, or a boot without it). */
  async function orServed<T>(read: () => Promise<T>, fromServed: (row: CertificateRow) => T): Promise<T> {
    try {
      return await read();
    } catch (error) {
      const row = served.row();
      if (row && isDatabaseUnavailable(error)) return fromServed(row);
      throw error;
    }
  }

  /** The row this process serves: the database's active one, unless this process could not apply that. */
  async function servedRow(): Promise<CertificateRow | undefined> {
    const snapshot = served.snapshot();
    return orServed(async () => (served.outOfSync() && snapshot && (await repo.get(snapshot.version))) || repo.active(), (row) => row);
  }

  return {
    servedRow,

    async active(): Promise<CertificateVersionView> {
      const snapshot = served.snapshot();
      const row = await orServed(async () => {
        // What this process serves, not what the database calls active (health says out_of_sync).
        if (served.outOfSync() && snapshot) {
          const outOfSync = await repo.get(snapshot.version);
          if (outOfSync) return outOfSync;
        }
        return repo.active();
      }, (servedNow) => servedNow);
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
