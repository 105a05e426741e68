import { desc } from 'drizzle-orm';
import type { AuditEntry, AuditRecord } from '../audit-repo.js';
import type { AuditStore } from '../ports.js';
import type { PgDb } from './open-postgres.js';
import type { PgTx } from './notify-in-transaction.js';
import { auditLog } from './schema.js';

/** Writes one audit row; the stores call it inside their own transactions. */
export async function insertAudit(tx: PgDb | PgTx, at: number, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values({
    at,
    actor: entry.actor,
    action: entry.action,
    clientAddress: entry.clientAddress ?? null,
    fingerprint: entry.fingerprint ?? null,
    detailsJson: JSON.stringify(entry.details ?? {}),
  });
}

export function createPgAuditStore(db: PgDb, clock: () => number): AuditStore {
  return {
    async record(entry) {
      await insertAudit(db, clock(), entry);
    },
    async recent(limit): Promise<AuditRecord[]> {
      const rows = await db.select().from(auditLog).orderBy(desc(auditLog.id)).limit(limit);
      return rows.map((row) => ({
        id: row.id,
        at: new Date(row.at).toISOString(),
        actor: row.actor,
        client_address: row.clientAddress,
        action: row.action,
        fingerprint_sha256: row.fingerprint,
        details: JSON.parse(row.detailsJson) as Record<string, unknown>,
      }));
    },
  };
}
