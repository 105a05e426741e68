import { eq } from 'drizzle-orm';
import type { Db } from './open-database.js';
import { acmeRenewal } from './schema.js';

export type AcmeRenewalRow = typeof acmeRenewal.$inferSelect;
export type AcmeOutcome = Partial<Pick<AcmeRenewalRow, 'nextAttemptAt' | 'failures' | 'lastAttemptAt' | 'lastError' | 'lastSuccessAt' | 'lastVersion' | 'certId'>>;

/** The renewal lease and schedule: one row every process reads, so one of them renews for all. */
export function createAcmeRenewalRepo(db: Db, clock: () => number) {
  const ensureRow = () => db.insert(acmeRenewal).values({ id: 1, updatedAt: clock() }).onConflictDoNothing().run();
  const read = () => db.select().from(acmeRenewal).where(eq(acmeRenewal.id, 1)).get();
  return {
    async state(): Promise<AcmeRenewalRow | undefined> {
      return read();
    },
    /**
     * Takes the lease when nobody holds it, it has run out, or `holder` has it already. IMMEDIATE:
     * the write lock is taken before the read, so two processes can never both see it free.
     */
    async acquire(holder: string, now: number, leaseMs: number): Promise<boolean> {
      ensureRow();
      const take = db.$client.transaction(() => {
        const row = read();
        if (row?.leaseHolder && row.leaseHolder !== holder && (row.leaseExpiresAt ?? 0) > now) return false;
        db.update(acmeRenewal).set({ leaseHolder: holder, leaseExpiresAt: now + leaseMs, updatedAt: now }).where(eq(acmeRenewal.id, 1)).run();
        return true;
      });
      return take.immediate();
    },
    /** Ends the lease (only the holder's) and records how the attempt went, in one write. */
    async release(holder: string, outcome: AcmeOutcome): Promise<void> {
      const now = clock();
      db.$client
        .transaction(() => {
          const row = read();
          const lease = row?.leaseHolder === holder ? { leaseHolder: null, leaseExpiresAt: null } : {};
          db.update(acmeRenewal).set({ ...lease, ...outcome, updatedAt: now }).where(eq(acmeRenewal.id, 1)).run();
        })
        .immediate();
    },
    /** Sets the schedule without taking the lease (boot, mode changes, a configuration change). */
    async schedule(outcome: AcmeOutcome): Promise<void> {
      ensureRow();
      db.update(acmeRenewal).set({ ...outcome, updatedAt: clock() }).where(eq(acmeRenewal.id, 1)).run();
    },
  };
}

export type AcmeRenewalRepo = ReturnType<typeof createAcmeRenewalRepo>;
