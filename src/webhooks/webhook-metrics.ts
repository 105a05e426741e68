import { Counter, type Registry } from 'prom-client';

export type AttemptResult = 'delivered' | 'retry' | 'failed';

/** Webhook delivery outcomes, on the application's registry (/v1/metrics). */
export function createWebhookMetrics(registry: Registry) {
  const deliveries = new Counter({
    name: 'hotcert_webhook_deliveries_total',
    help: 'Webhook delivery attempts by this process: delivered (2xx), retry (failed, will be retried), failed (gave up)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  for (const result of ['delivered', 'retry', 'failed'] as const) deliveries.inc({ result }, 0);
  return { attempt: (result: AttemptResult) => deliveries.inc({ result }) };
}

export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;
