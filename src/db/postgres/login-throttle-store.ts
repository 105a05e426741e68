import { and, count, eq, inArray, lte, sql } from 'drizzle-orm';
import type { LoginThrottleStore, ThrottleCounter } from '../ports.js';
import type { PgDb } from './open-postgres.js';
import { loginThrottle } from './schema.js';

/** Thrown inside the transaction to undo the counters of an attempt that meets a lock. */
class Locked extends Error {}

/** How many of the least recently used rows each attempt looks at to drop expired ones for free. */
const EXPIRED_SWEEP = 8;

/**
 * The login counters on PostgreSQL, shared by every instance. Each key is counted by one
 * INSERT … ON CONFLICT DO UPDATE … WHERE not locked: the upsert takes the row lock and judges the
 * newest committed row, so concurrent attempts on any instance queue on the row and cannot pass a
 * lock another has just set. Keys are always taken in the same order (pair, address, name): no deadlock.
 */
export function createPgLoginThrottleStore(db: PgDb): LoginThrottleStore {
  const t = loginThrottle;
  return {
    async reserve(attempt) {
      const { now, windowMs } = attempt;
      const expired = sql`${now}::bigint - ${t.windowStart} > ${windowMs}::bigint and ${now}::bigint >= ${t.lockedUntil}`;
      try {
        const counters = await db.transaction(async (tx) => {
          const out: ThrottleCounter[] = [];
          for (const key of [...attempt.lockable, ...attempt.counted]) {
            const lockable = attempt.lockable.includes(key);
            const [row] = await tx
              .insert(t)
              .values({ key, failures: 1, windowStart: now, lockedUntil: 0, touched: sql`nextval('login_throttle_touched_seq')` })
              .onConflictDoUpdate({
                target: t.key,
                set: {
                  failures: sql`case when ${expired} then 1 else ${t.failures} + 1 end`,
                  windowStart: sql`case when ${expired} then ${now}::bigint else ${t.windowStart} end`,
                  lockedUntil: sql`case when ${expired} then 0 else ${t.lockedUntil} end`,
                  touched: sql`excluded.touched`,
                },
                // A locked key takes no attempt: nothing is returned and the whole attempt is undone.
                ...(lockable ? { setWhere: lte(t.lockedUntil, now) } : {}),
              })
              .returning();
            if (!row) throw new Locked();
            const lockMs = lockable ? attempt.lockMs(key, row.failures) : 0;
            if (lockMs > 0) await tx.update(t).set({ lockedUntil: now + lockMs }).where(eq(t.key, key));
            out.push({ key, failures: row.failures, windowStart: row.windowStart, lockedUntil: lockMs > 0 ? now + lockMs : row.lockedUntil, lockStartedMs: lockMs });
          }
          return out;
        });
        await trim(now, windowMs, attempt.maxEntries);
        return { ok: true, counters };
      } catch (error) {
        if (!(error instanceof Locked)) throw error;
        const [row] = await db.select({ until: sql<string | null>`max(${t.lockedUntil})` }).from(t).where(inArray(t.key, attempt.lockable));
        return { ok: false, lockedUntil: row?.until == null ? now : Number(row.until) };
      }
    },

    async release({ remove, giveBack }) {
      await db.transaction(async (tx) => {
        if (remove.length > 0) await tx.delete(t).where(inArray(t.key, remove));
        for (const { key, windowStart, unlockIfLockedUntil } of giveBack) {
          await tx
            .update(t)
            .set({ failures: sql`greatest(${t.failures} - 1, 0)` })
            .where(and(eq(t.key, key), eq(t.windowStart, windowStart)));
          // The lock this attempt started goes with it, unless another attempt has set a new one since.
          if (unlockIfLockedUntil !== undefined) await tx.update(t).set({ lockedUntil: 0 }).where(and(eq(t.key, key), eq(t.lockedUntil, unlockIfLockedUntil)));
        }
      });
    },

    async clear() {
      await db.delete(t);
    },

    async size() {
      return (await db.select({ n: count() }).from(t))[0]?.n ?? 0;
    },
  };

  /**
   * Past the bound the least recently used rows go, even if still counting; expired ones among the oldest go
   * anyway. After the attempt's own commit, skipping rows other attempts hold, so it never waits on them.
   */
  async function trim(now: number, windowMs: number, maxEntries: number): Promise<void> {
    await db.execute(sql`
      delete from ${t} where ${t.key} in (
        select ${t.key} from ${t}
        where ${t.key} in (select ${t.key} from ${t} order by ${t.touched} asc limit ${EXPIRED_SWEEP})
          and ${now}::bigint - ${t.windowStart} > ${windowMs}::bigint and ${now}::bigint >= ${t.lockedUntil}
        for update skip locked)`);
    await db.execute(sql`
      delete from ${t} where ${t.key} in (
        select ${t.key} from ${t}
        where ${t.touched} <= (select ${t.touched} from ${t} order by ${t.touched} desc offset ${maxEntries} limit 1)
        for update skip locked)`);
  }
}
