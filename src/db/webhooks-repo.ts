import { count, eq } from 'drizzle-orm';
import { insertAudit, type AuditEntry } from './audit-repo.js';
import type { Db } from './open-database.js';
import { webhooks } from './schema.js';

export interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  secretSealed: Buffer;
  enabled: boolean;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
}

export interface WebhookChange {
  url?: string | undefined;
  events?: string[] | undefined;
  enabled?: boolean | undefined;
}

const toRow = (row: typeof webhooks.$inferSelect): WebhookRow => ({
  id: row.id,
  url: row.url,
  events: JSON.parse(row.eventsJson) as string[],
  secretSealed: Buffer.from(row.secretSealed),
  enabled: row.enabled,
  createdAt: row.createdAt,
  createdBy: row.createdBy,
  updatedAt: row.updatedAt,
});

/** The registered event webhooks. Async so a non-SQLite backend fits without changing callers; every change is audited in its transaction. */
export function createWebhooksRepo(db: Db, clock: () => number) {
  return {
    async list(): Promise<WebhookRow[]> {
      return db.select().from(webhooks).orderBy(webhooks.createdAt, webhooks.id).all().map(toRow);
    },
    async get(id: string): Promise<WebhookRow | undefined> {
      const row = db.select().from(webhooks).where(eq(webhooks.id, id)).get();
      return row ? toRow(row) : undefined;
    },
    async count(): Promise<number> {
      return db.select({ n: count() }).from(webhooks).get()?.n ?? 0;
    },
    async insert(row: WebhookRow, audit: AuditEntry): Promise<void> {
      db.transaction(
        (tx) => {
          tx.insert(webhooks)
            .values({ ...row, eventsJson: JSON.stringify(row.events) })
            .run();
          insertAudit(tx, clock(), audit);
        },
        { behavior: 'immediate' },
      );
    },
    /** Undefined when there is no such webhook (nothing written). */
    async update(id: string, change: WebhookChange, audit: AuditEntry): Promise<WebhookRow | undefined> {
      return db.transaction(
        (tx) => {
          const set = {
            ...(change.url !== undefined ? { url: change.url } : {}),
            ...(change.events !== undefined ? { eventsJson: JSON.stringify(change.events) } : {}),
            ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
            updatedAt: clock(),
          };
          const updated = tx.update(webhooks).set(set).where(eq(webhooks.id, id)).returning().get();
          if (!updated) return undefined;
          insertAudit(tx, clock(), audit);
          return toRow(updated);
        },
        { behavior: 'immediate' },
      );
    },
    /** Its deliveries go with it (foreign key cascade). False when there was no such webhook. */
    async delete(id: string, audit: AuditEntry): Promise<boolean> {
      return db.transaction(
        (tx) => {
          const gone = tx.delete(webhooks).where(eq(webhooks.id, id)).run().changes === 1;
          if (gone) insertAudit(tx, clock(), audit);
          return gone;
        },
        { behavior: 'immediate' },
      );
    },
  };
}

export type WebhooksRepo = ReturnType<typeof createWebhooksRepo>;
