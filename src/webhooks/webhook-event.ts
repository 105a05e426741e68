import { randomUUID } from 'node:crypto';
import type { OutboxEvent } from '../db/webhook-deliveries-repo.js';
import type { HotcertEvent } from '../events/events.js';

/**
 * Events every process emits for the same fact (each one's expiry check) get a key, so each webhook hears of it once
 * (also across restarts). Everything else happens in one process and needs none.
 */
export function dedupeKeyOf(event: HotcertEvent): string | null {
  if (event.type === 'certificate.expiring') return `${event.type}:${event.fingerprint_sha256}:${event.threshold_days}`;
  if (event.type === 'certificate.expired') return `${event.type}:${event.fingerprint_sha256}`;
  return null;
}

/** The body every webhook receives: `{id, type, created_at, data}`, data being the event's own fields. */
export function toOutboxEvent(event: HotcertEvent, now: number): OutboxEvent {
  const { type, ...data } = event;
  const eventId = `evt_${randomUUID()}`;
  return { eventId, type, payload: JSON.stringify({ id: eventId, type, created_at: new Date(now).toISOString(), data }), dedupeKey: dedupeKeyOf(event) };
}
