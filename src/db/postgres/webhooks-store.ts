import { randomUUID } from 'node:crypto';
import { and, asc, count, desc, eq, inArray, lte, or, sql } from 'drizzle-orm';
import type { WebhookDeliveriesRepo } from '../webhook-deliveries-repo.js';
import type { WebhookRow, WebhooksRepo } from '../webhooks-repo.js';
import { insertAudit } from './audit-store.js';
import type { PgDb } from './open-postgres.js';
import { webhookDeliveries, webhooks } from './schema.js';

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

export function createPgWebhooksStore(db: PgDb, clock: () => number): WebhooksRepo {
  return {
    async list() {
      return (await db.select().from(webhooks).orderBy(webhooks.createdAt, webhooks.id)).map(toRow);
    },
    async get(id) {
      const [row] = await db.select().from(webhooks).where(eq(webhooks.id, id));
      return row ? toRow(row) : undefined;
    },
    async count() {
      return (await db.select({ n: count() }).from(webhooks))[0]?.n ?? 0;
    },
    async insert(row, audit) {
      await db.transaction(async (tx) => {
        await tx.insert(webhooks).values({ ...row, eventsJson: JSON.stringify(row.events) });
        await insertAudit(tx, clock(), audit);
      });
    },
    async update(id, change, audit) {
      return db.transaction(async (tx) => {
        const set = {
          ...(change.url !== undefined ? { url: change.url } : {}),
          ...(change.events !== undefined ? { eventsJson: JSON.stringify(change.events) } : {}),
          ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
          updatedAt: clock(),
        };
        const [updated] = await tx.update(webhooks).set(set).where(eq(webhooks.id, id)).returning();
        if (!updated) return undefined;
        await insertAudit(tx, clock(), audit);
        return toRow(updated);
      });
    },
    async delete(id, audit) {
      return db.transaction(async (tx) => {
        const gone = (await tx.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id })).length === 1;
        if (gone) await insertAudit(tx, clock(), audit);
        return gone;
      });
    },
  };
}

/** The outbox. Claims lock the due rows with FOR UPDATE SKIP LOCKED, so instances polling together never claim one row twice. */
export function createPgDeliveriesStore(db: PgDb, clock: () => number): WebhookDeliveriesRepo {
  const due = (now: number) =>
    and(
      eq(webhooks.enabled, true),
      or(
        and(eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, now)),
        and(eq(webhookDeliveries.status, 'sending'), lte(webhookDeliveries.claimedUntil, now)),
      ),
    );
  return {
    async enqueue(event) {
      return db.transaction(async (tx) => {
        const now = clock();
        const targets = (await tx.select({ id: webhooks.id, eventsJson: webhooks.eventsJson }).from(webhooks).where(eq(webhooks.enabled, true))).filter((hook) =>
          (JSON.parse(hook.eventsJson) as string[]).includes(event.type),
        );
        let added = 0;
        for (const target of targets) {
          const inserted = await tx
            .insert(webhookDeliveries)
            .values({
              deliveryId: randomUUID(),
              webhookId: target.id,
              eventId: event.eventId,
              eventType: event.type,
              payload: event.payload,
              dedupeKey: event.dedupeKey,
              status: 'pending',
              nextAttemptAt: now,
              createdAt: now,
              updatedAt: now,
            })
            .onConflictDoNothing()
            .returning({ id: webhookDeliveries.id });
          added += inserted.length;
        }
        return added;
      });
    },

    async claimDue(owner, limit, leaseMs) {
      if (limit <= 0) return [];
      // An idle poll is one plain read: no transaction, no lock.
      const [any] = await db
        .select({ id: webhookDeliveries.id })
        .from(webhookDeliveries)
        .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
        .where(due(clock()))
        .limit(1);
      if (!any) return [];
      return db.transaction(async (tx) => {
        const now = clock();
        const ids = (
          await tx
            .select({ id: webhookDeliveries.id })
            .from(webhookDeliveries)
            .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
            .where(due(now))
            .orderBy(asc(webhookDeliveries.nextAttemptAt), asc(webhookDeliveries.id))
            .limit(limit)
            .for('update', { of: webhookDeliveries, skipLocked: true })
        ).map((row) => row.id);
        if (ids.length === 0) return [];
        await tx
          .update(webhookDeliveries)
          .set({ status: 'sending', claimedBy: owner, claimedUntil: now + leaseMs, attempts: sql`${webhookDeliveries.attempts} + 1`, updatedAt: now })
          .where(inArray(webhookDeliveries.id, ids));
        const rows = await tx
          .select({
            id: webhookDeliveries.id,
            deliveryId: webhookDeliveries.deliveryId,
            webhookId: webhookDeliveries.webhookId,
            url: webhooks.url,
            secretSealed: webhooks.secretSealed,
            eventType: webhookDeliveries.eventType,
            payload: webhookDeliveries.payload,
            attempts: webhookDeliveries.attempts,
          })
          .from(webhookDeliveries)
          .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
          .where(inArray(webhookDeliveries.id, ids))
          .orderBy(asc(webhookDeliveries.nextAttemptAt), asc(webhookDeliveries.id));
        return rows.map((row) => ({ ...row, secretSealed: Buffer.from(row.secretSealed) }));
      });
    },

    async complete(id, owner, outcome) {
      const now = clock();
      const written = await db
        .update(webhookDeliveries)
        .set({
          status: outcome.status,
          nextAttemptAt: outcome.nextAttemptAt,
          lastStatusCode: outcome.statusCode,
          lastError: outcome.error,
          claimedBy: null,
          claimedUntil: null,
          updatedAt: now,
          ...(outcome.status === 'delivered' ? { deliveredAt: now } : {}),
        })
        .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.status, 'sending'), eq(webhookDeliveries.claimedBy, owner)))
        .returning({ id: webhookDeliveries.id });
      return written.length === 1;
    },

    async release(id, owner) {
      const now = clock();
      await db
        .update(webhookDeliveries)
        .set({ status: 'pending', attempts: sql`greatest(${webhookDeliveries.attempts} - 1, 0)`, nextAttemptAt: now, claimedBy: null, claimedUntil: null, updatedAt: now })
        .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.status, 'sending'), eq(webhookDeliveries.claimedBy, owner)));
    },

    recent: (webhookId, limit) =>
      db
        .select({
          deliveryId: webhookDeliveries.deliveryId,
          eventId: webhookDeliveries.eventId,
          eventType: webhookDeliveries.eventType,
          status: webhookDeliveries.status,
          attempts: webhookDeliveries.attempts,
          nextAttemptAt: webhookDeliveries.nextAttemptAt,
          lastStatusCode: webhookDeliveries.lastStatusCode,
          lastError: webhookDeliveries.lastError,
          createdAt: webhookDeliveries.createdAt,
          updatedAt: webhookDeliveries.updatedAt,
          deliveredAt: webhookDeliveries.deliveredAt,
        })
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.webhookId, webhookId))
        .orderBy(desc(webhookDeliveries.id))
        .limit(limit),

    async pruneFinished(before) {
      return (
        await db
          .delete(webhookDeliveries)
          .where(and(inArray(webhookDeliveries.status, ['delivered', 'failed']), lte(webhookDeliveries.updatedAt, before)))
          .returning({ id: webhookDeliveries.id })
      ).length;
    },
  };
}
