/**
 * Failed logins per user name and per client address, in memory of this process.
 * After `freeFailures` failures in `windowMs`, each further attempt waits exponentially longer.
 */
export interface LoginThrottleOptions {
  /** Per user name. */
  freeFailures?: number;
  /** Per client address: higher, since one address may front many people. */
  freeFailuresPerAddress?: number;
  windowMs?: number;
  maxLockMs?: number;
  clock: () => number;
}

interface Bucket {
  failures: number;
  first: number;
  lockedUntil: number;
}

export function createLoginThrottle({ freeFailures = 5, freeFailuresPerAddress = 20, windowMs = 15 * 60_000, maxLockMs = 15 * 60_000, clock }: LoginThrottleOptions) {
  const buckets = new Map<string, Bucket>();

  const keysFor = (username: string, address: string) => [`user:${normaliseUsername(username)}`, `addr:${address}`];

  function live(key: string, now: number): Bucket | undefined {
    const bucket = buckets.get(key);
    if (bucket && now - bucket.first > windowMs && now >= bucket.lockedUntil) {
      buckets.delete(key);
      return undefined;
    }
    return bucket;
  }

  return {
    /** Seconds to wait before another attempt is allowed, or 0. */
    retryAfter(username: string, address: string): number {
      const now = clock();
      let wait = 0;
      for (const key of keysFor(username, address)) {
        const bucket = live(key, now);
        if (bucket && bucket.lockedUntil > now) wait = Math.max(wait, bucket.lockedUntil - now);
      }
      return wait / 1000;
    },
    fail(username: string, address: string): void {
      const now = clock();
      for (const key of keysFor(username, address)) {
        const bucket = live(key, now) ?? { failures: 0, first: now, lockedUntil: 0 };
        bucket.failures += 1;
        const free = key.startsWith('addr:') ? freeFailuresPerAddress : freeFailures;
        if (bucket.failures >= free) {
          const lock = Math.min(maxLockMs, 1000 * 2 ** (bucket.failures - free));
          bucket.lockedUntil = now + lock;
        }
        buckets.set(key, bucket);
      }
      if (buckets.size > 100_000) buckets.clear();
    },
    succeed(username: string): void {
      buckets.delete(`user:${normaliseUsername(username)}`);
    },
  };
}

/** Case and surrounding white space never make a new user name for throttling. */
export function normaliseUsername(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase();
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
