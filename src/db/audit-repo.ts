import { desc } from 'drizzle-orm';
import type { AuditStore } from './ports.js';
import type { Db } from './open-database.js';
import { auditLog } from './schema.js';

export interface AuditEntry {
  actor: string;
  action: string;
  clientAddress?: string | undefined;
  fingerprint?: string | undefined;
  details?: Record<string, unknown>;
}

export interface AuditRecord {
  id: number;
  at: string;
  actor: string;
  client_address: string | null;
  action: string;
  fingerprint_sha256: string | null;
  details: Record<string, unknown>;
}

/** Writes one audit row; repositories call it inside their own transactions. */
export function insertAudit(tx: Pick<Db, 'insert'>, at: number, entry: AuditEntry): void {
  tx.insert(auditLog)
    .values({
      at,
      actor: entry.actor,
      action: entry.action,
      clientAddress: entry.clientAddress ?? null,
      fingerprint: entry.fingerprint ?? null,
      detailsJson: JSON.stringify(entry.details ?? {}),
    })
    .run();
}

export function createAuditRepo(db: Db, clock: () => number): AuditStore {
  return {
    async record(entry: AuditEntry): Promise<void> {
      insertAudit(db, clock(), entry);
    },
    async recent(limit: number): Promise<AuditRecord[]> {
      return db
        .select()
        .from(auditLog)
        .orderBy(desc(auditLog.id))
        .limit(limit)
        .all()
        .map((row) => ({
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

