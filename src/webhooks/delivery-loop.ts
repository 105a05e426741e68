import { randomUUID } from 'node:crypto';
import type https from 'node:https';
import type { Logger } from 'pino';
import type { ClaimedDelivery, WebhookDeliveriesRepo } from '../db/webhook-deliveries-repo.js';
import { packageVersion } from '../package-version.js';
import { sendWebhook } from './send-webhook.js';
import type { WebhookMetrics } from './webhook-metrics.js';
import { signatureHeader } from './webhook-signature.js';

export interface DeliveryOptions {
  /** Wait after the 1st, 2nd, … failed attempt; the last entry repeats (the cap). */
  retryDelaysMs?: number[] | undefined;
  /** Attempts before a delivery is marked `failed`. */
  maxAttempts?: number | undefined;
  /** Bound on one attempt, connect to last byte. */
  timeoutMs?: number | undefined;
  /** How often to look for due deliveries (other processes' events, retries). */
  pollIntervalMs?: number | undefined;
  /** Attempts in flight at once in this process. */
  concurrency?: number | undefined;
  /** Delivered and failed rows older than this are deleted. */
  retentionMs?: number | undefined;
}

export const DEFAULT_RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000];

export interface DeliveryLoopDeps {
  repo: WebhookDeliveriesRepo;
  /** The signing secret of a claimed delivery's webhook (unsealed on demand, never kept). */
  secretOf(delivery: ClaimedDelivery): string;
  agent: () => https.Agent;
  clock: () => number;
  logger: Logger;
  metrics: WebhookMetrics;
  options?: DeliveryOptions | undefined;
}

/** Jitter of ±10% keeps a fleet's retries from arriving together. */
export function retryDelay(delays: readonly number[], failedAttempts: number, random: () => number = Math.random): number {
  const base = delays[Math.min(failedAttempts, delays.length) - 1] ?? delays.at(-1) ?? 0;
  return Math.round(base * (0.9 + 0.2 * random()));
}

/**
 * Sends the outbox: claims due rows (a transaction, so each attempt is made by one process), posts them over
 * the outbound trust store, and records the outcome with a capped exponential backoff.
 */
export function startDeliveryLoop(deps: DeliveryLoopDeps) {
  const { repo, clock, logger, metrics } = deps;
  const delays = deps.options?.retryDelaysMs?.length ? deps.options.retryDelaysMs : DEFAULT_RETRY_DELAYS_MS;
  const maxAttempts = deps.options?.maxAttempts ?? 10;
  const timeoutMs = deps.options?.timeoutMs ?? 10_000;
  const concurrency = deps.options?.concurrency ?? 4;
  const retentionMs = deps.options?.retentionMs ?? 30 * 24 * 60 * 60 * 1000;
  // A claim outlives the attempt's own deadline, so only a dead process's rows are taken over.
  const leaseMs = timeoutMs + 30_000;
  const owner = randomUUID();
  const inFlight = new Map<number, { abort: AbortController; done: Promise<void> }>();
  let pumping = false;
  let again = false;
  let closed = false;

  const pollTimer = setInterval(kick, deps.options?.pollIntervalMs ?? 1000);
  pollTimer.unref();
  const pruneTimer = setInterval(() => {
    repo.pruneFinished(clock() - retentionMs).catch((error: unknown) => logger.warn({ event: 'webhook.prune_failed', error_name: (error as Error).name }, 'pruning old webhook deliveries failed'));
  }, 60 * 60 * 1000);
  pruneTimer.unref();

  function kick(): void {
    if (closed) return;
    if (pumping) {
      again = true;
      return;
    }
    void pump();
  }

  async function pump(): Promise<void> {
    pumping = true;
    try {
      do {
        again = false;
        const free = concurrency - inFlight.size;
        if (free <= 0 || closed) break;
        const claimed = await repo.claimDue(owner, free, leaseMs);
        if (closed) {
          for (const delivery of claimed) await repo.release(delivery.id, owner);
          break;
        }
        for (const delivery of claimed) attempt(delivery);
        if (claimed.length === free) again = true;
      } while (again && !closed);
    } catch (error) {
      logger.warn({ event: 'webhook.claim_failed', error_name: (error as Error).name, code: (error as { code?: unknown }).code }, 'looking for due webhook deliveries failed; retrying at the next poll');
    } finally {
      pumping = false;
    }
  }

  function attempt(delivery: ClaimedDelivery): void {
    const abort = new AbortController();
    const done = send(delivery, abort.signal)
      .catch((error: unknown) => logger.error({ event: 'webhook.attempt_failed', delivery_id: delivery.deliveryId, error_name: (error as Error).name }, 'recording a webhook attempt failed'))
      .finally(() => {
        inFlight.delete(delivery.id);
        kick();
      });
    inFlight.set(delivery.id, { abort, done });
  }

  async function send(delivery: ClaimedDelivery, signal: AbortSignal): Promise<void> {
    let secret: string;
    try {
      secret = deps.secretOf(delivery);
    } catch (error) {
      return record(delivery, { ok: false, statusCode: null, error: `the webhook's secret cannot be decrypted (${(error as Error).message})` });
    }
    const answer = await sendWebhook({
      url: delivery.url,
      body: delivery.payload,
      agent: deps.agent(),
      timeoutMs,
      signal,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': `hotcert/${packageVersion}`,
        'X-Hotcert-Event': delivery.eventType,
        'X-Hotcert-Delivery': delivery.deliveryId,
        'X-Hotcert-Signature': signatureHeader(secret, Math.floor(clock() / 1000), delivery.payload),
      },
    });
    // Shutting down: the attempt did not really happen; another process (or the next start) makes it.
    if (signal.aborted) return repo.release(delivery.id, owner);
    return record(delivery, answer);
  }

  async function record(delivery: ClaimedDelivery, answer: Awaited<ReturnType<typeof sendWebhook>>): Promise<void> {
    const fields = { delivery_id: delivery.deliveryId, webhook_id: delivery.webhookId, type: delivery.eventType, attempt: delivery.attempts };
    if (answer.ok) {
      await repo.complete(delivery.id, owner, { status: 'delivered', statusCode: answer.statusCode, error: null, nextAttemptAt: clock() });
      metrics.attempt('delivered');
      logger.info({ event: 'webhook.delivered', ...fields, status_code: answer.statusCode }, 'webhook delivered');
      return;
    }
    const giveUp = delivery.attempts >= maxAttempts;
    const nextAttemptAt = giveUp ? clock() : clock() + retryDelay(delays, delivery.attempts);
    await repo.complete(delivery.id, owner, { status: giveUp ? 'failed' : 'pending', statusCode: answer.statusCode, error: answer.error, nextAttemptAt });
    metrics.attempt(giveUp ? 'failed' : 'retry');
    logger.warn(
      { event: giveUp ? 'webhook.failed' : 'webhook.retry', ...fields, status_code: answer.statusCode, error: answer.error, ...(giveUp ? {} : { next_attempt_at: new Date(nextAttemptAt).toISOString() }) },
      giveUp ? `webhook delivery failed after ${delivery.attempts} attempts` : 'webhook delivery failed; will retry',
    );
  }

  return {
    /** Look for due deliveries now (an event was just recorded). */
    kick,
    /**
     * Stops polling; attempts in flight get `graceMs` to finish (so an answered one is not sent again), then are
     * cut and given back untried.
     */
    async close(graceMs = Math.min(timeoutMs, 5000)): Promise<void> {
      closed = true;
      clearInterval(pollTimer);
      clearInterval(pruneTimer);
      const running = [...inFlight.values()];
      const all = Promise.allSettled(running.map(({ done }) => done));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      for (const { abort } of running) abort.abort();
      await all;
    },
  };
}

export type DeliveryLoop = ReturnType<typeof startDeliveryLoop>;
