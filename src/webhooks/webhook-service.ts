import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ChangeContext } from '../certificates/certificate-service.js';
import type { DeliveryRecord, WebhookDeliveriesRepo } from '../db/webhook-deliveries-repo.js';
import type { WebhookRow, WebhooksRepo } from '../db/webhooks-repo.js';
import { DomainError } from '../domain-errors.js';
import { EVENT_TYPES, type HotcertEventType } from '../events/events.js';
import { seal, unseal } from '../secrets/seal.js';
import { newWebhookSecret } from './webhook-signature.js';
import { sealContexts } from '../secrets/seal-contexts.js';

/** A registry of webhooks is for a handful of owners, not a fan-out service. */
export const MAX_WEBHOOKS = 20;

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  created_at: string;
  created_by: string;
  updated_at: string;
}

export interface DeliveryView {
  id: string;
  event_id: string;
  event_type: string;
  status: DeliveryRecord['status'];
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
}

export interface NewWebhook {
  url: string;
  events?: HotcertEventType[] | undefined;
  enabled?: boolean | undefined;
}

export interface WebhookChangeInput {
  url?: string | undefined;
  events?: HotcertEventType[] | undefined;
  enabled?: boolean | undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();
/** Binds a sealed secret to its webhook: a blob copied onto another row does not decrypt. */
const sealContext = sealContexts.webhookSecret;

const toView = (row: WebhookRow): WebhookView => ({
  id: row.id,
  url: row.url,
  events: row.events,
  enabled: row.enabled,
  created_at: iso(row.createdAt),
  created_by: row.createdBy,
  updated_at: iso(row.updatedAt),
});

const toDeliveryView = (row: DeliveryRecord): DeliveryView => ({
  id: row.deliveryId,
  event_id: row.eventId,
  event_type: row.eventType,
  status: row.status,
  attempts: row.attempts,
  next_attempt_at: row.status === 'pending' || row.status === 'sending' ? iso(row.nextAttemptAt) : null,
  last_status_code: row.lastStatusCode,
  last_error: row.lastError,
  created_at: iso(row.createdAt),
  updated_at: iso(row.updatedAt),
  delivered_at: row.deliveredAt === null ? null : iso(row.deliveredAt),
});

/** In the order of EVENT_TYPES, each once. */
const normaliseEvents = (events: readonly HotcertEventType[] | undefined): string[] => (events ? EVENT_TYPES.filter((type) => events.includes(type)) : [...EVENT_TYPES]);

export interface WebhookServiceDeps {
  repo: WebhooksRepo;
  deliveries: WebhookDeliveriesRepo;
  masterKey: Buffer;
  clock: () => number;
  logger: Logger;
}

/** Admin management of event webhooks. Input shapes are checked by the route schemas; this owns ids, secrets and limits. */
export function createWebhookService({ repo, deliveries, masterKey, clock, logger }: WebhookServiceDeps) {
  async function existing(id: string): Promise<WebhookRow> {
    const row = await repo.get(id);
    if (!row) throw new DomainError('not-found', `no webhook with id "${id.slice(0, 64)}"`);
    return row;
  }

  return {
    /** The secret is in this answer and never again. */
    async create(input: NewWebhook, context: ChangeContext): Promise<WebhookView & { secret: string }> {
      if ((await repo.count()) >= MAX_WEBHOOKS) throw new DomainError('invalid-input', `at most ${MAX_WEBHOOKS} webhooks can be registered; delete one first`);
      const id = randomUUID();
      const secret = newWebhookSecret();
      const now = clock();
      const row: WebhookRow = {
        id,
        url: input.url,
        events: normaliseEvents(input.events),
        secretSealed: seal(masterKey, secret, sealContext(id)),
        enabled: input.enabled ?? true,
        createdAt: now,
        createdBy: context.actor,
        updatedAt: now,
      };
      await repo.insert(row, { actor: context.actor, clientAddress: context.address, action: 'webhook.created', details: { id, url: row.url, events: row.events, enabled: row.enabled } });
      // Only the origin: some receivers put a token in the path or query.
      logger.info({ event: 'webhook.created', webhook_id: id, origin: new URL(row.url).origin, actor: context.actor }, 'webhook registered');
      return { ...toView(row), secret };
    },

    async list(): Promise<WebhookView[]> {
      return (await repo.list()).map(toView);
    },

    async get(id: string): Promise<WebhookView> {
      return toView(await existing(id));
    },

    async update(id: string, change: WebhookChangeInput, context: ChangeContext): Promise<WebhookView> {
      const normalised = { ...change, events: change.events ? normaliseEvents(change.events) : undefined };
      const details = Object.fromEntries(Object.entries({ id, ...normalised }).filter(([, value]) => value !== undefined));
      const row = await repo.update(id, normalised, { actor: context.actor, clientAddress: context.address, action: 'webhook.updated', details });
      if (!row) throw new DomainError('not-found', `no webhook with id "${id.slice(0, 64)}"`);
      logger.info({ event: 'webhook.updated', webhook_id: id, actor: context.actor }, 'webhook changed');
      return toView(row);
    },

    async delete(id: string, context: ChangeContext): Promise<void> {
      const row = await existing(id);
      const gone = await repo.delete(id, { actor: context.actor, clientAddress: context.address, action: 'webhook.deleted', details: { id, url: row.url } });
      if (!gone) throw new DomainError('not-found', `no webhook with id "${id.slice(0, 64)}"`);
      logger.info({ event: 'webhook.deleted', webhook_id: id, actor: context.actor }, 'webhook deleted');
    },

    /** Newest first. */
    async deliveries(id: string, limit: number): Promise<DeliveryView[]> {
      await existing(id);
      return (await deliveries.recent(id, limit)).map(toDeliveryView);
    },

    /** For the delivery loop: the signing secret of one webhook. */
    secretOf(webhookId: string, sealed: Buffer): string {
      return unseal(masterKey, sealed, sealContext(webhookId));
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
