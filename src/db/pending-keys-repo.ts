import { and, asc, eq, gt, inArray, lte } from 'drizzle-orm';
import { insertAudit, type AuditEntry } from './audit-repo.js';
import type { PendingKeyStore } from './ports.js';
import type { Db } from './open-database.js';
import { pendingKeys } from './schema.js';

export type PendingKeyRow = typeof pendingKeys.$inferSelect;
export type NewPendingKey = Omit<PendingKeyRow, 'id'>;

export function createPendingKeysRepo(db: Db, clock: () => number): PendingKeyStore {
  return {
    /** Stores the sealed key and audits it in one transaction. */
    async insert(row: NewPendingKey, audit: AuditEntry): Promise<PendingKeyRow> {
      return db.transaction((tx) => {
        const inserted = tx.insert(pendingKeys).values(row).returning().get();
        insertAudit(tx, clock(), { ...audit, details: { ...audit.details, pending_key_id: inserted.id } });
        return inserted;
      });
    },
    /** Unexpired pending keys, oldest first. */
    async list(now: number): Promise<PendingKeyRow[]> {
      return db.select().from(pendingKeys).where(gt(pendingKeys.expiresAt, now)).orderBy(asc(pendingKeys.id)).all();
    },
    /** The unexpired pending key whose public key has one of these SPKI SHA-256 hashes. */
    async findBySpki(spkiSha256: string[], now: number): Promise<PendingKeyRow | undefined> {
      if (spkiSha256.length === 0) return undefined;
      return db
        .select()
        .from(pendingKeys)
        .where(and(inArray(pendingKeys.spkiSha256, spkiSha256), gt(pendingKeys.expiresAt, now)))
        .orderBy(asc(pendingKeys.id))
        .get();
    },
    /** Consumed by an activation: the key now lives (sealed) in its certificate version. */
    async remove(id: number, audit: AuditEntry): Promise<void> {
      db.transaction((tx) => {
        tx.delete(pendingKeys).where(eq(pendingKeys.id, id)).run();
        insertAudit(tx, clock(), audit);
      });
    },
    /** An admin discards a pending key (the CSR was a mistake): false when there is none. */
    async discard(id: number, audit: AuditEntry): Promise<boolean> {
      return db.transaction((tx) => {
        const removed = tx.delete(pendingKeys).where(eq(pendingKeys.id, id)).run().changes > 0;
        if (removed) insertAudit(tx, clock(), { ...audit, details: { ...audit.details, pending_key_id: id } });
        return removed;
      });
    },
    async purgeExpired(now: number): Promise<number> {
      return db.delete(pendingKeys).where(lte(pendingKeys.expiresAt, now)).run().changes;
    },
  };
}

