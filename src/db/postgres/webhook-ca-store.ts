import { eq, sql } from 'drizzle-orm';
import type { WebhookCaStore } from '../ports.js';
import { insertAudit } from './audit-store.js';
import { notifyChange, type PgTx } from './notify-in-transaction.js';
import type { PgDb } from './open-postgres.js';
import { serviceState, webhookCa } from './schema.js';

export function createPgWebhookCaStore(db: PgDb, clock: () => number): WebhookCaStore {
  /** The trust store's own generation moves (not the certificate's), and every instance is told in the same transaction. */
  const bumpGeneration = async (tx: PgTx): Promise<number> => {
    const [row] = await tx
      .update(serviceState)
      .set({ webhookCaGeneration: sql`${serviceState.webhookCaGeneration} + 1`, updatedAt: clock() })
      .where(eq(serviceState.id, 1))
      .returning({ generation: serviceState.webhookCaGeneration });
    await notifyChange(tx, 'webhook_ca');
    return row?.generation ?? 0;
  };
  return {
    async generation() {
      return (await db.select({ generation: serviceState.webhookCaGeneration }).from(serviceState).where(eq(serviceState.id, 1)))[0]?.generation ?? 0;
    },
    async get() {
      return (await db.select({ pem: webhookCa.pem }).from(webhookCa).where(eq(webhookCa.id, 1)))[0]?.pem ?? null;
    },
    async set(pem, fingerprints, audit) {
      return db.transaction(async (tx) => {
        const row = { pem, fingerprintsJson: JSON.stringify(fingerprints), updatedAt: clock(), updatedBy: audit.actor };
        await tx.insert(webhookCa).values({ id: 1, ...row }).onConflictDoUpdate({ target: webhookCa.id, set: row });
        await insertAudit(tx, clock(), audit);
        return bumpGeneration(tx);
      });
    },
    async clear(audit) {
      return db.transaction(async (tx) => {
        await tx.delete(webhookCa).where(eq(webhookCa.id, 1));
        await insertAudit(tx, clock(), audit);
        return bumpGeneration(tx);
      });
    },
  };
}
