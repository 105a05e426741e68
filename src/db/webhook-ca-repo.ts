import { eq, sql } from 'drizzle-orm';
import { insertAudit, type AuditEntry } from './audit-repo.js';
import type { WebhookCaStore } from './ports.js';
import type { Db } from './open-database.js';
import { serviceState, webhookCa } from './schema.js';

export function createWebhookCaRepo(db: Db, clock: () => number): WebhookCaStore {
  /** Every change moves the trust store's own generation (not the certificate's), so other processes reload it and only it. */
  const bumpGeneration = (tx: Pick<Db, 'update'>): number =>
    tx.update(serviceState)
      .set({ webhookCaGeneration: sql`${serviceState.webhookCaGeneration} + 1`, updatedAt: clock() })
      .where(eq(serviceState.id, 1))
      .returning({ generation: serviceState.webhookCaGeneration })
      .get()?.generation ?? 0;
  const selectGeneration = db.select({ generation: serviceState.webhookCaGeneration }).from(serviceState).where(eq(serviceState.id, 1)).prepare();

  return {
    /** Read by every sync tick: prepared once. 0 before the certificates repository created the state row. */
    async generation(): Promise<number> {
      return selectGeneration.get()?.generation ?? 0;
    },
    async get(): Promise<string | null> {
      return db.select({ pem: webhookCa.pem }).from(webhookCa).where(eq(webhookCa.id, 1)).get()?.pem ?? null;
    },
    /** Returns the trust store's new generation. */
    async set(pem: string, fingerprints: string[], audit: AuditEntry): Promise<number> {
      return db.transaction(
        (tx) => {
          const row = { pem, fingerprintsJson: JSON.stringify(fingerprints), updatedAt: clock(), updatedBy: audit.actor };
          tx.insert(webhookCa).values({ id: 1, ...row }).onConflictDoUpdate({ target: webhookCa.id, set: row }).run();
          insertAudit(tx, clock(), audit);
          return bumpGeneration(tx);
        },
        { behavior: 'immediate' },
      );
    },
    /** Returns the trust store's new generation. */
    async clear(audit: AuditEntry): Promise<number> {
      return db.transaction(
        (tx) => {
          tx.delete(webhookCa).where(eq(webhookCa.id, 1)).run();
          insertAudit(tx, clock(), audit);
          return bumpGeneration(tx);
        },
        { behavior: 'immediate' },
      );
    },
  };
}

