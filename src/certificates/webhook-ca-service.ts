import type { AuditStore, WebhookCaStore } from '../db/ports.js';
import type { Logger } from 'pino';

import { DomainError } from '../domain-errors.js';

import type { TrustStore } from '../tls/trust-store.js';
import type { Finding } from '../validation/findings.js';
import { validateWebhookCa } from '../validation/webhook-ca-rules.js';
import type { ChangeContext } from './certificate-service.js';

export interface WebhookCaServiceDeps {
  repo: WebhookCaStore;
  audit: AuditStore;
  trustStore: TrustStore;
  clock: () => number;
  logger: Logger;
}

export function createWebhookCaService({ repo, audit, trustStore, clock, logger }: WebhookCaServiceDeps) {
  const splitStored = (pem: string | null) => (pem ? pem.split(/(?<=-----END CERTIFICATE-----)\s*/).filter((block) => block.includes('BEGIN')) : []);
  /** The trust-store generation this process has loaded (its own, separate from the certificate's). */
  let loadedGeneration = -1;

  async function reload(): Promise<number> {
    const generation = await repo.generation();
    const certificates = splitStored(await repo.get());
    trustStore.set(certificates);
    loadedGeneration = generation;
    return certificates.length;
  }

  return {
    /** Reads the stored bundle into the live trust store (boot). */
    async reload(): Promise<void> {
      await reload();
    },
    /** Reloads the trust store when another process changed it; true when it did. Cheap otherwise (one read). */
    async syncFromDatabase(): Promise<boolean> {
      if ((await repo.generation()) === loadedGeneration) return false;
      const certificates = await reload();
      logger.info({ event: 'webhook_ca.reloaded', certificates }, 'webhook CA bundle changed by another process; reloaded');
      return true;
    },
    get: (): Promise<string | null> => repo.get(),
    async set(input: Uint8Array | string, context: ChangeContext): Promise<{ warnings: Finding[] }> {
      const result = validateWebhookCa(input, clock());
      if (!result.ok) {
        await audit.record({ actor: context.actor, clientAddress: context.address, action: 'webhook_ca.rejected', details: { rules: result.errors.map((e) => e.rule) } });
        logger.warn({ event: 'webhook_ca.rejected', rules: result.errors.map((e) => e.rule), actor: context.actor }, 'webhook CA bundle rejected');
        throw new DomainError('invalid-bundle', result.errors.map((finding) => finding.message));
      }
      const pem = result.certificates.join('');
      const generation = await repo.set(pem, result.fingerprints, {
        actor: context.actor,
        clientAddress: context.address,
        action: 'webhook_ca.set',
        details: { certificates: result.fingerprints, warnings: result.warnings.map((w) => w.rule) },
      });
      trustStore.set(result.certificates);
      loadedGeneration = generation;
      logger.info({ event: 'webhook_ca.set', certificates: result.fingerprints.length, actor: context.actor }, 'webhook CA bundle replaced');
      return { warnings: result.warnings };
    },
    async delete(context: ChangeContext): Promise<void> {
      const generation = await repo.clear({ actor: context.actor, clientAddress: context.address, action: 'webhook_ca.deleted' });
      trustStore.set([]);
      loadedGeneration = generation;
      logger.info({ event: 'webhook_ca.deleted', actor: context.actor }, 'webhook CA bundle removed');
    },
  };
}

export type WebhookCaService = ReturnType<typeof createWebhookCaService>;
