import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Stores } from '../db/stores.js';
import type { EventBus } from '../events/events.js';
import type { TrustStore } from '../tls/trust-store.js';
import { startDeliveryLoop, type DeliveryLoop, type DeliveryOptions } from './delivery-loop.js';
import { toOutboxEvent } from './webhook-event.js';
import { createWebhookMetrics } from './webhook-metrics.js';
import { createWebhookService } from './webhook-service.js';

export interface WebhooksDeps {
  stores: Pick<Stores, 'webhooks' | 'deliveries'>;
  masterKey: Buffer;
  events: EventBus;
  trustStore: TrustStore;
  registry: Registry;
  clock: () => number;
  logger: Logger;
}

/**
 * Event webhooks: the admin service, the bus listener that records every event in the outbox (never sends, so an
 * upload never waits on a receiver), and the delivery loop a server process starts.
 */
export function createWebhooks({ stores, masterKey, events, trustStore, registry, clock, logger }: WebhooksDeps) {
  const { deliveries } = stores;
  const service = createWebhookService({ repo: stores.webhooks, deliveries, masterKey, clock, logger });
  let loop: DeliveryLoop | undefined;

  const unsubscribe = events.subscribe((event) => {
    deliveries
      .enqueue(toOutboxEvent(event, clock()))
      .then((added) => added > 0 && loop?.kick())
      .catch((error: unknown) =>
        logger.error({ event: 'webhook.record_failed', type: event.type, error_name: (error as Error).name, code: (error as { code?: unknown }).code }, 'an event could not be recorded for its webhooks'),
      );
  });

  return {
    service,
    /** Starts sending (server processes only; the CLI just records, a running server sends). */
    startDelivery(options?: DeliveryOptions): void {
      loop ??= startDeliveryLoop({
        repo: deliveries,
        secretOf: (delivery) => service.secretOf(delivery.webhookId, delivery.secretSealed),
        agent: () => trustStore.agent(),
        clock,
        logger,
        metrics: createWebhookMetrics(registry),
        options,
      });
      loop.kick();
    },
    async close(): Promise<void> {
      unsubscribe();
      await loop?.close();
    },
  };
}

export type Webhooks = ReturnType<typeof createWebhooks>;
