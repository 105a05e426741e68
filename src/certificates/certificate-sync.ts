import type { CertificateStore } from '../db/ports.js';
import type { Logger } from 'pino';

import type { IdentitySwitch } from '../tls/identity-switch.js';
import type { TicketKeyStore } from '../tls/ticket-keys.js';
import type { Activation, ActivationDeps } from './activation.js';
import type { ServedState } from './served-state.js';
import { notAfterOf, tryLoadIdentity } from './stored-identity.js';

export interface CertificateSyncDeps {
  repo: Pick<CertificateStore, 'generation' | 'state' | 'active'>;
  activation: Activation;
  served: ServedState;
  identities: IdentitySwitch;
  masterKey: Buffer;
  ticketKeys?: TicketKeyStore | undefined;
  clock: () => number;
  logger: Logger;
  onServed?: ActivationDeps['onServed'];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Changes committed by another process (other WORKERS, a second server, the CLI), applied here by activation.ts. */
export function createCertificateSync(deps: CertificateSyncDeps) {
  const { repo, activation, served, identities, logger } = deps;
  const differs = (keys: Buffer) => !keys.equals(identities.ticketKeys() ?? Buffer.alloc(0));

  return {
    /** Cheap when nothing changed (one indexed read of the certificate generation); true when something was applied. */
    async syncFromDatabase(): Promise<boolean> {
      if ((await repo.generation()) === served.generation()) return false;
      return activation.serialized(async () => {
        const state = await repo.state();
        if (state.generation === served.generation()) return false;
        const row = await repo.active();
        const ticketKeys = await deps.ticketKeys?.read();
        if (row && row.fingerprint !== identities.current()?.fingerprint) {
          const loaded = tryLoadIdentity(row, deps.masterKey);
          let problem = 'problem' in loaded ? loaded.problem : undefined;
          if ('identity' in loaded) {
            try {
              activation.applyCommitted(row, loaded.identity, state.generation, state.fallbackReason, 'sync', ticketKeys);
              return true;
            } catch {
              problem = 'OpenSSL refuses the stored key and certificate';
            }
          }
          logger.error({ event: 'certificate.sync_failed', version: row.version, reason: problem }, 'certificate from another process cannot be served; keeping the current one');
          // Health, metrics and GET keep describing what is served, and say that it is not what the database says.
          served.couldNotApply(state.generation, { version: row.version, reason: `version ${row.version} is active in the database but this process cannot serve it: ${problem}` });
          return true;
        }
        // The same certificate (a re-activation elsewhere): new ticket keys and the fallback flag may still have changed.
        if (ticketKeys && differs(ticketKeys)) identities.setTicketKeys(ticketKeys);
        if (row) {
          served.applied({ version: row.version, fingerprint: row.fingerprint, notAfter: notAfterOf(row), fallbackReason: state.fallbackReason }, state.generation, row);
          deps.onServed?.({ row, generation: state.generation, fallbackReason: state.fallbackReason });
        }
        return true;
      });
    },

    /**
     * Ticket keys also age out without a certificate change: older than a day, one process replaces
     * them and every process takes the stored ones (called hourly). In the activation order, so it
     * never undoes the keys an activation has just swapped in.
     */
    async refreshTicketKeys(): Promise<void> {
      const store = deps.ticketKeys;
      if (!store) return;
      await activation.serialized(async () => {
        const keys = await store.rotateIfOlder(DAY_MS, deps.clock());
        if (keys && differs(keys)) identities.setTicketKeys(keys);
      });
    },
  };
}
