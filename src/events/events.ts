/**
 * What happened to the served identity, told to whoever listens (event webhooks, later others).
 * Services emit; they never wait for a listener and a listener's failure never reaches them.
 */
export type HotcertEvent =
  | { type: 'certificate.activated'; version: number; fingerprint_sha256: string; source: string; actor: string; not_after: string }
  | { type: 'certificate.rejected'; rules: string[]; actor: string; action: string }
  | { type: 'certificate.expiring'; version: number; fingerprint_sha256: string; days_left: number; threshold_days: number; not_after: string }
  | { type: 'certificate.expired'; version: number; fingerprint_sha256: string; not_after: string }
  | { type: 'certificate.fallback'; version: number | null; fingerprint_sha256: string | null; reason: string }
  | { type: 'acme.renewed'; version: number; fingerprint_sha256: string; domains: string[]; not_after: string }
  | { type: 'acme.renewal_failed'; domains: string[]; error: string; next_attempt_at: string | null };

export type HotcertEventType = HotcertEvent['type'];

export const EVENT_TYPES: readonly HotcertEventType[] = [
  'certificate.activated',
  'certificate.rejected',
  'certificate.expiring',
  'certificate.expired',
  'certificate.fallback',
  'acme.renewed',
  'acme.renewal_failed',
];

export type EventListener = (event: HotcertEvent) => void;

export interface EventBus {
  emit(event: HotcertEvent): void;
  /** Returns the function that removes the listener. */
  subscribe(listener: EventListener): () => void;
}

export function createEventBus(onListenerError?: (error: unknown, event: HotcertEvent) => void): EventBus {
  const listeners = new Set<EventListener>();
  return {
    emit(event) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          onListenerError?.(error, event);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
