import { and, asc, eq, gt, inArray, lte } from 'drizzle-orm';
import type { PendingKeyStore } from '../ports.js';
import { insertAudit } from './audit-store.js';
import type { PgDb } from './open-postgres.js';
import { pendingKeys } from './schema.js';

export function createPgPendingKeyStore(db: PgDb, clock: () => number): PendingKeyStore {
  return {
    async insert(row, audit) {
      return db.transaction(async (tx) => {
        const [inserted] = await tx.insert(pendingKeys).values(row).returning();
        await insertAudit(tx, clock(), { ...audit, details: { ...audit.details, pending_key_id: inserted!.id } });
        return inserted!;
      });
    },
    list: (now) => db.select().from(pendingKeys).where(gt(pendingKeys.expiresAt, now)).orderBy(asc(pendingKeys.id)),
    async findBySpki(spkiSha256, now) {
      if (spkiSha256.length === 0) return undefined;
      const [row] = await db
        .select()
        .from(pendingKeys)
        .where(and(inArray(pendingKeys.spkiSha256, spkiSha256), gt(pendingKeys.expiresAt, now)))
        .orderBy(asc(pendingKeys.id))
        .limit(1);
      return row;
    },
    async remove(id, audit) {
      await db.transaction(async (tx) => {
        await tx.delete(pendingKeys).where(eq(pendingKeys.id, id));
        await insertAudit(tx, clock(), audit);
      });
    },
    async discard(id, audit) {
      return db.transaction(async (tx) => {
        const removed = (await tx.delete(pendingKeys).where(eq(pendingKeys.id, id)).returning({ id: pendingKeys.id })).length > 0;
        if (removed) await insertAudit(tx, clock(), { ...audit, details: { ...audit.details, pending_key_id: id } });
        return removed;
      });
    },
    async purgeExpired(now) {
      return (await db.delete(pendingKeys).where(lte(pendingKeys.expiresAt, now)).returning({ id: pendingKeys.id })).length;
    },
  };
}
