import { eq, sql } from 'drizzle-orm';
import { insertAudit, type AuditEntry } from './audit-repo.js';
import type { Db } from './open-database.js';
import { serviceState, webhookCa } from './schema.js';

export function createWebhookCaRepo(db: Db, clock: () => number) {
  /** Every change moves the shared generation, so other processes reload their trust store. */
  const bumpGeneration = (tx: Pick<Db, 'update'>) =>
    tx.update(serviceState).set({ generation: sql`${serviceState.generation} + 1`, updatedAt: clock() }).where(eq(serviceState.id, 1)).run();

  return {
    get(): string | null {
      return db.select({ pem: webhookCa.pem }).from(webhookCa).where(eq(webhookCa.id, 1)).get()?.pem ?? null;
    },
    set(pem: string, fingerprints: string[], audit: AuditEntry): void {
      db.transaction(
        (tx) => {
          const row = { pem, fingerprintsJson: JSON.stringify(fingerprints), updatedAt: clock(), updatedBy: audit.actor };
          tx.insert(webhookCa).values({ id: 1, ...row }).onConflictDoUpdate({ target: webhookCa.id, set: row }).run();
          bumpGeneration(tx);
          insertAudit(tx, clock(), audit);
        },
        { behavior: 'immediate' },
      );
    },
    clear(audit: AuditEntry): void {
      db.transaction(
        (tx) => {
          tx.delete(webhookCa).where(eq(webhookCa.id, 1)).run();
          bumpGeneration(tx);
          insertAudit(tx, clock(), audit);
        },
        { behavior: 'immediate' },
      );
    },
  };
}

export type WebhookCaRepo = ReturnType<typeof createWebhookCaRepo>;
