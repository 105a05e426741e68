import { and, asc, count, desc, eq, inArray, lte, sql } from 'drizzle-orm';
import type { LoginThrottleStore, ThrottleCounter } from './ports.js';
import type { Db } from './open-database.js';
import { loginThrottle } from './schema.js';

/** Thrown inside the transaction to undo the counters of an attempt that meets a lock. */
class Locked extends Error {}

/** How many of the least recently used rows each attempt looks at to drop expired ones for free. */
const EXPIRED_SWEEP = 8;

/** The login counters in SQLite: every process on the data directory counts together (BEGIN IMMEDIATE). */
export function createLoginThrottleRepo(db: Db): LoginThrottleStore {
  const t = loginThrottle;
  return {
    async reserve(attempt) {
      const { now, windowMs } = attempt;
      const expired = sql`${now} - ${t.windowStart} > ${windowMs} and ${now} >= ${t.lockedUntil}`;
      try {
        const counters = db.transaction(
          (tx) => {
            const out: ThrottleCounter[] = [];
            for (const key of [...attempt.lockable, ...attempt.counted]) {
              const lockable = attempt.lockable.includes(key);
              const row = tx
                .insert(t)
                .values({ key, failures: 1, windowStart: now, lockedUntil: 0, touched: sql`(select coalesce(max(${t.touched}), 0) + 1 from ${t})` })
                .onConflictDoUpdate({
                  target: t.key,
                  set: {
                    failures: sql`case when ${expired} then 1 else ${t.failures} + 1 end`,
                    windowStart: sql`case when ${expired} then ${now} else ${t.windowStart} end`,
                    lockedUntil: sql`case when ${expired} then 0 else ${t.lockedUntil} end`,
                    touched: sql`excluded.touched`,
                  },
                  // A locked key takes no attempt: nothing is returned and the whole attempt is undone.
                  ...(lockable ? { setWhere: lte(t.lockedUntil, now) } : {}),
                })
                .returning()
                .get();
              if (!row) throw new Locked();
              const lockMs = lockable ? attempt.lockMs(key, row.failures) : 0;
              if (lockMs > 0) tx.update(t).set({ lockedUntil: now + lockMs }).where(eq(t.key, key)).run();
              out.push({ key, failures: row.failures, windowStart: row.windowStart, lockedUntil: lockMs > 0 ? now + lockMs : row.lockedUntil, lockStartedMs: lockMs });
            }
            return out;
          },
          { behavior: 'immediate' },
        );
        trim(now, windowMs, attempt.maxEntries);
        return { ok: true, counters };
      } catch (error) {
        if (!(error instanceof Locked)) throw error;
        const [row] = db.select({ until: sql<number>`max(${t.lockedUntil})` }).from(t).where(inArray(t.key, attempt.lockable)).all();
        return { ok: false, lockedUntil: Number(row?.until ?? now) };
      }
    },

    async release({ remove, giveBack }) {
      db.transaction(
        (tx) => {
          if (remove.length > 0) tx.delete(t).where(inArray(t.key, remove)).run();
          for (const { key, windowStart, unlockIfLockedUntil } of giveBack) {
            tx.update(t)
              .set({ failures: sql`case when ${t.failures} > 0 then ${t.failures} - 1 else 0 end` })
              .where(and(eq(t.key, key), eq(t.windowStart, windowStart)))
              .run();
            // The lock this attempt started goes with it, unless another attempt has set a new one since.
            if (unlockIfLockedUntil !== undefined) tx.update(t).set({ lockedUntil: 0 }).where(and(eq(t.key, key), eq(t.lockedUntil, unlockIfLockedUntil))).run();
          }
        },
        { behavior: 'immediate' },
      );
    },

    async clear() {
      db.delete(t).run();
    },

    async size() {
      return db.select({ n: count() }).from(t).get()?.n ?? 0;
    },
  };

  /** Past the bound the least recently used rows go, even if still counting; expired ones among the oldest go anyway. */
  function trim(now: number, windowMs: number, maxEntries: number): void {
    const oldest = db.select({ key: t.key }).from(t).orderBy(asc(t.touched)).limit(EXPIRED_SWEEP);
    db.delete(t)
      .where(and(inArray(t.key, oldest), sql`${now} - ${t.windowStart} > ${windowMs} and ${now} >= ${t.lockedUntil}`))
      .run();
    const boundary = db.select({ touched: t.touched }).from(t).orderBy(desc(t.touched)).limit(1).offset(maxEntries).get();
    if (boundary) db.delete(t).where(lte(t.touched, boundary.touched)).run();
  }
}
