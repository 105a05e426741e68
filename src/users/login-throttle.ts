import { addressKey } from '../address-key.js';

/**
 * Failed logins, in memory of this process. Every attempt is reserved (counted as a failure)
 * synchronously before its password is checked, so a burst sent at once gets no more checks
 * than a slow one; a right password gives its reservation back.
 *
 * - per (name, address): after `freeFailures`, that address waits exponentially longer for that name;
 * - per address: after `freeFailuresPerAddress`, that address waits for every name;
 * - per name across addresses: never a refusal, only a small added delay, so nobody can lock
 *   the right password out from another address.
 */
export interface LoginThrottleOptions {
  /** Per (name, address). */
  freeFailures?: number;
  /** Per client address: higher, since one address may front many people. */
  freeFailuresPerAddress?: number;
  /** Per name from every address, before each attempt is slowed down (never refused). */
  freeFailuresPerName?: number;
  maxNameDelayMs?: number;
  windowMs?: number;
  maxLockMs?: number;
  /** Bound on remembered entries; the least recently touched go first. */
  maxEntries?: number;
  /** A value another process (the CLI) changes to clear every counter; read at each attempt. */
  resetMarker?: () => Promise<string | undefined>;
  clock: () => number;
}

interface Bucket {
  failures: number;
  first: number;
  lockedUntil: number;
}

type Scope = 'pair' | 'addr' | 'name';

export type Reservation =
  | { ok: false; retryAfterSeconds: number }
  | {
      ok: true;
      /** Wait this long before checking the password (the per-name delay). */
      delayMs: number;
      /** The password was wrong: keeps the reservation; says which locks this attempt started. */
      failed(): { locked: ('pair' | 'addr')[]; lockMs: number };
      /** The password was right: gives the reservation back. */
      succeeded(): void;
    };

export function createLoginThrottle({
  freeFailures = 5,
  freeFailuresPerAddress = 20,
  freeFailuresPerName = 10,
  maxNameDelayMs = 2_000,
  windowMs = 15 * 60_000,
  maxLockMs = 15 * 60_000,
  maxEntries = 100_000,
  resetMarker,
  clock,
}: LoginThrottleOptions) {
  // Map order is the order of last update: the front holds the entries to age out first.
  const buckets = new Map<string, Bucket>();
  let seenMarker: string | undefined;
  let markerRead = false;

  function live(key: string, now: number): Bucket | undefined {
    const bucket = buckets.get(key);
    if (bucket && now - bucket.first > windowMs && now >= bucket.lockedUntil) {
      buckets.delete(key);
      return undefined;
    }
    return bucket;
  }

  function touch(key: string, bucket: Bucket): void {
    buckets.delete(key);
    buckets.set(key, bucket);
  }

  function ageOut(now: number): void {
    // Expired entries at the front go for free; past the bound the oldest go even if still counting.
    for (const [key, bucket] of buckets) {
      const expired = now - bucket.first > windowMs && now >= bucket.lockedUntil;
      if (!expired && buckets.size <= maxEntries) break;
      buckets.delete(key);
    }
  }

  function lockFor(failures: number, free: number): number {
    return failures >= free ? Math.min(maxLockMs, 1000 * 2 ** (failures - free)) : 0;
  }

  return {
    /** Clears every counter when `hotcert reset-admin-password` (another process) has written a new marker. */
    async refresh(): Promise<void> {
      if (!resetMarker) return;
      const marker = await resetMarker();
      if (markerRead && marker !== seenMarker) buckets.clear();
      seenMarker = marker;
      markerRead = true;
    },

    reserve(username: string, address: string): Reservation {
      const now = clock();
      const name = normaliseUsername(username);
      const client = addressKey(address);
      const keys: Record<Scope, string> = { pair: `pair:${client}\n${name}`, addr: `addr:${client}`, name: `name:${name}` };

      let wait = 0;
      for (const scope of ['pair', 'addr'] as const) {
        const bucket = live(keys[scope], now);
        if (bucket && bucket.lockedUntil > now) wait = Math.max(wait, bucket.lockedUntil - now);
      }
      if (wait > 0) return { ok: false, retryAfterSeconds: Math.ceil(wait / 1000) };

      const before = new Map<Scope, { bucket: Bucket; lockedUntil: number }>();
      const started: ('pair' | 'addr')[] = [];
      let lockMs = 0;
      for (const scope of ['pair', 'addr', 'name'] as const) {
        const bucket = live(keys[scope], now) ?? { failures: 0, first: now, lockedUntil: 0 };
        before.set(scope, { bucket, lockedUntil: bucket.lockedUntil });
        bucket.failures += 1;
        if (scope !== 'name') {
          const lock = lockFor(bucket.failures, scope === 'pair' ? freeFailures : freeFailuresPerAddress);
          if (lock > 0) {
            bucket.lockedUntil = now + lock;
            started.push(scope);
            lockMs = Math.max(lockMs, lock);
          }
        }
        touch(keys[scope], bucket);
      }
      ageOut(now);

      const nameFailures = before.get('name')!.bucket.failures - 1;
      const delayMs = nameFailures >= freeFailuresPerName ? Math.min(maxNameDelayMs, 100 * 2 ** (nameFailures - freeFailuresPerName)) : 0;

      return {
        ok: true,
        delayMs,
        failed: () => ({ locked: started, lockMs }),
        succeeded() {
          buckets.delete(keys.pair);
          for (const scope of ['addr', 'name'] as const) {
            const { bucket, lockedUntil } = before.get(scope)!;
            if (buckets.get(keys[scope]) !== bucket) continue;
            bucket.failures = Math.max(0, bucket.failures - 1);
            if (scope === 'addr' && started.includes('addr')) bucket.lockedUntil = lockedUntil;
          }
        },
      };
    },
    /** Entries remembered now (for tests and metrics). */
    size: () => buckets.size,
  };
}

/** Case, white space and Unicode compatibility forms never make a new user name. */
export function normaliseUsername(username: string): string {
  return username.normalize('NFKC').replace(/\s+/gu, '').toLowerCase().normalize('NFKC');
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
