import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray, lte, or, sql } from 'drizzle-orm';
import type { Db } from './open-database.js';
import { webhookDeliveries, webhooks } from './schema.js';

export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed';

/** One event, ready to be recorded for every enabled webhook that subscribes to its type. */
export interface OutboxEvent {
  eventId: string;
  type: string;
  /** The exact JSON body every attempt sends. */
  payload: string;
  /** Events that several processes emit (expiry) carry one; a second copy for the same webhook is dropped. */
  dedupeKey: string | null;
}

/** A delivery this process claimed: it alone sends this attempt until `claimedUntil`. */
export interface ClaimedDelivery {
  id: number;
  deliveryId: string;
  webhookId: string;
  url: string;
  secretSealed: Buffer;
  eventType: string;
  payload: string;
  /** Attempts so far, this one included. */
  attempts: number;
}

export interface AttemptOutcome {
  status: 'delivered' | 'pending' | 'failed';
  statusCode: number | null;
  error: string | null;
  nextAttemptAt: number;
}

export interface DeliveryRecord {
  deliveryId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  deliveredAt: number | null;
}

/** The webhook outbox: recorded when an event happens, claimed and completed by the delivery loops of every process. */
export function createWebhookDeliveriesRepo(db: Db, clock: () => number) {
  return {
    /** Records `event` for each enabled webhook subscribed to its type; returns how many rows were added. */
    async enqueue(event: OutboxEvent): Promise<number> {
      return db.transaction(
        (tx) => {
          const now = clock();
          const targets = tx
            .select({ id: webhooks.id, eventsJson: webhooks.eventsJson })
            .from(webhooks)
            .where(eq(webhooks.enabled, true))
            .all()
            .filter((hook) => (JSON.parse(hook.eventsJson) as string[]).includes(event.type));
          let added = 0;
          for (const target of targets) {
            added += tx
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
              .run().changes;
          }
          return added;
        },
        { behavior: 'immediate' },
      );
    },

    /**
     * Claims up to `limit` due deliveries of enabled webhooks (pending and due, or sending with an expired lease
     * because their process died) in one write transaction, so no other process claims the same rows.
     */
    async claimDue(owner: string, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
      if (limit <= 0) return [];
      const dueIds = (reader: Pick<Db, 'select'>, now: number, max: number) =>
        reader
          .select({ id: webhookDeliveries.id })
          .from(webhookDeliveries)
          .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
          .where(
            and(
              eq(webhooks.enabled, true),
              or(
                and(eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, now)),
                and(eq(webhookDeliveries.status, 'sending'), lte(webhookDeliveries.claimedUntil, now)),
              ),
            ),
          )
          .orderBy(asc(webhookDeliveries.nextAttemptAt), asc(webhookDeliveries.id))
          .limit(max)
          .all()
          .map((row) => row.id);
      // Every process polls: a plain read first, so an idle poll never takes the database's write lock.
      if (dueIds(db, clock(), 1).length === 0) return [];
      return db.transaction(
        (tx) => {
          const now = clock();
          const due = dueIds(tx, now, limit);
          if (due.length === 0) return [];
          tx.update(webhookDeliveries)
            .set({ status: 'sending', claimedBy: owner, claimedUntil: now + leaseMs, attempts: sql`${webhookDeliveries.attempts} + 1`, updatedAt: now })
            .where(inArray(webhookDeliveries.id, due))
            .run();
          return tx
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
            .where(inArray(webhookDeliveries.id, due))
            .orderBy(asc(webhookDeliveries.nextAttemptAt), asc(webhookDeliveries.id))
            .all()
            .map((row) => ({ ...row, secretSealed: Buffer.from(row.secretSealed) }));
        },
        { behavior: 'immediate' },
      );
    },

    /** Writes the attempt's outcome, only while this process still holds the claim. */
    async complete(id: number, owner: string, outcome: AttemptOutcome): Promise<boolean> {
      const now = clock();
      return (
        db
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
          .run().changes === 1
      );
    },

    /** Gives a claimed delivery back untried (shutdown): the attempt does not count, it is due again now. */
    async release(id: number, owner: string): Promise<void> {
      const now = clock();
      db.update(webhookDeliveries)
        .set({ status: 'pending', attempts: sql`max(${webhookDeliveries.attempts} - 1, 0)`, nextAttemptAt: now, claimedBy: null, claimedUntil: null, updatedAt: now })
        .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.status, 'sending'), eq(webhookDeliveries.claimedBy, owner)))
        .run();
    },

    /** The newest `limit` deliveries of one webhook. */
    async recent(webhookId: string, limit: number): Promise<DeliveryRecord[]> {
      return db
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
        .limit(limit)
        .all();
    },

    /** Deletes finished deliveries last touched before `before` (the log is bounded in time, not only in page size). */
    async pruneFinished(before: number): Promise<number> {
      return db
        .delete(webhookDeliveries)
        .where(and(inArray(webhookDeliveries.status, ['delivered', 'failed']), lte(webhookDeliveries.updatedAt, before)))
        .run().changes;
    },
  };
}

export type WebhookDeliveriesRepo = ReturnType<typeof createWebhookDeliveriesRepo>;
