/** When to renew and when to retry: pure functions of the certificate's dates, the CA's advice and a random number. */

/** Renew when a third of the lifetime is left (certmagic's default ratio). */
export const RENEW_AT_FRACTION = 2 / 3;
/** Jitter: up to this share of the lifetime earlier, so a fleet of servers does not hit the CA together. */
const JITTER_FRACTION = 1 / 30;

export interface RenewalWindow {
  start: number;
  end: number;
}

/** Two thirds into the lifetime, minus a random jitter (never before notBefore). */
export function renewalTime(notBefore: number, notAfter: number, random: number): number {
  const lifetime = Math.max(0, notAfter - notBefore);
  return Math.max(notBefore, Math.round(notBefore + lifetime * RENEW_AT_FRACTION - random * lifetime * JITTER_FRACTION));
}

/**
 * RFC 9773 §4.2: a random time inside the suggested window; a window already over means now.
 * The two-thirds time still wins when it comes first (the CA may only bring renewal forward here).
 */
export function renewalTimeWithWindow(planned: number, window: RenewalWindow | undefined, now: number, random: number): number {
  if (!window) return planned;
  const suggested = window.end <= now ? now : Math.max(now, Math.round(window.start + random * (window.end - window.start)));
  return Math.min(planned, suggested);
}

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

/** Capped exponential backoff after the n-th consecutive failure (n >= 1), with up to 20% jitter off. */
export function retryDelay(failures: number, options: BackoffOptions, random: number): number {
  const exponential = options.baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  const capped = Math.min(options.capMs, exponential);
  return Math.round(capped * (1 - 0.2 * random));
}
