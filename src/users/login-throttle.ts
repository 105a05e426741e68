import { addressKey } from '../address-key.js';
import type { LoginThrottleStore } from '../db/ports.js';

/**
 * Failed logins, counted in the database so every process (and every instance of a fleet) counts
 * together. Every attempt is reserved (counted as a failure) by one atomic write before its password is
 * checked, so a burst sent at once, to one process or to several, gets no more checks than a slow one;
 * a right password gives its reservation back.
 *
 * - per (name, address): after `freeFailures`, that address waits exponentially longer for that name;
 * - per address: after `freeFailuresPerAddress`, that address waits for every name;
 * - per name across addresses: never a refusal, only a small added delay, so nobody can lock
 *   the right password out from another address.
 */
export interface LoginThrottleOptions {
  store: LoginThrottleStore;
  /** Per (name, address). */
  freeFailures?: number;
  /** Per client address: higher, since one address may front many people. */
  freeFailuresPerAddress?: number;
  /** Per name from every address, before each attempt is slowed down (never refused). */
  freeFailuresPerName?: number;
  maxNameDelayMs?: number;
  windowMs?: number;
  maxLockMs?: number;
  /** Bound on remembered counters; the least recently touched go first. */
  maxEntries?: number;
  clock: () => number;
}

export type Reservation =
  | { ok: false; retryAfterSeconds: number }
  | {
      ok: true;
      /** Wait this long before checking the password (the per-name delay). */
      delayMs: number;
      /** The password was wrong: keeps the reservation; says which locks this attempt started. */
      failed(): { locked: ('pair' | 'addr')[]; lockMs: number };
      /** The password was right: gives the reservation back. */
      succeeded(): Promise<void>;
    };

export function createLoginThrottle({
  store,
  freeFailures = 5,
  freeFailuresPerAddress = 20,
  freeFailuresPerName = 10,
  maxNameDelayMs = 2_000,
  windowMs = 15 * 60_000,
  maxLockMs = 15 * 60_000,
  maxEntries = 100_000,
  clock,
}: LoginThrottleOptions) {
  function lockFor(failures: number, free: number): number {
    return failures >= free ? Math.min(maxLockMs, 1000 * 2 ** (failures - free)) : 0;
  }

  return {
    async reserve(username: string, address: string): Promise<Reservation> {
      const now = clock();
      const name = normaliseUsername(username);
      const client = addressKey(address);
      const pair = `pair:${client}\n${name}`;
      const addr = `addr:${client}`;
      const nameKey = `name:${name}`;

      const reserved = await store.reserve({
        lockable: [pair, addr],
        counted: [nameKey],
        now,
        windowMs,
        maxEntries,
        lockMs: (key, failures) => lockFor(failures, key === pair ? freeFailures : freeFailuresPerAddress),
      });
      if (!reserved.ok) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((reserved.lockedUntil - now) / 1000)) };

      const counter = (key: string) => reserved.counters.find((entry) => entry.key === key)!;
      const started: ('pair' | 'addr')[] = [];
      if (counter(pair).lockStartedMs > 0) started.push('pair');
      if (counter(addr).lockStartedMs > 0) started.push('addr');
      const lockMs = Math.max(counter(pair).lockStartedMs, counter(addr).lockStartedMs);

      const nameFailures = counter(nameKey).failures - 1;
      const delayMs = nameFailures >= freeFailuresPerName ? Math.min(maxNameDelayMs, 100 * 2 ** (nameFailures - freeFailuresPerName)) : 0;

      return {
        ok: true,
        delayMs,
        failed: () => ({ locked: started, lockMs }),
        async succeeded() {
          const addrCounter = counter(addr);
          await store.release({
            remove: [pair],
            giveBack: [
              { key: addr, windowStart: addrCounter.windowStart, unlockIfLockedUntil: addrCounter.lockStartedMs > 0 ? addrCounter.lockedUntil : undefined },
              { key: nameKey, windowStart: counter(nameKey).windowStart },
            ],
          });
        },
      };
    },
    /** Forgets every counter of every process (`hotcert reset-admin-password`). */
    clear: () => store.clear(),
    /** Counters remembered now (for tests and metrics). */
    size: () => store.size(),
  };
}

/** Case, white space and Unicode compatibility forms never make a new user name. */
export function normaliseUsername(username: string): string {
  return username.normalize('NFKC').replace(/\s+/gu, '').toLowerCase().normalize('NFKC');
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
