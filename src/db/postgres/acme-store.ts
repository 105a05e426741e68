import { and, desc, eq, gt, isNull, lte, or, sql } from 'drizzle-orm';
import type { AcmeChallengesRepo } from '../acme-challenges-repo.js';
import type { AcmeRenewalRepo } from '../acme-renewal-repo.js';
import type { PgDb } from './open-postgres.js';
import { acmeChallenges, acmeRenewal } from './schema.js';

/** The renewal lease: taken by one conditional UPDATE, so of several instances at most one holds it. */
export function createPgAcmeRenewalStore(db: PgDb, clock: () => number): AcmeRenewalRepo {
  const ensureRow = () => db.insert(acmeRenewal).values({ id: 1, updatedAt: clock() }).onConflictDoNothing();
  return {
    async state() {
      return (await db.select().from(acmeRenewal).where(eq(acmeRenewal.id, 1)))[0];
    },
    async acquire(holder, now, leaseMs) {
      await ensureRow();
      const taken = await db
        .update(acmeRenewal)
        .set({ leaseHolder: holder, leaseExpiresAt: now + leaseMs, updatedAt: now })
        .where(
          and(
            eq(acmeRenewal.id, 1),
            or(isNull(acmeRenewal.leaseHolder), eq(acmeRenewal.leaseHolder, holder), lte(sql`coalesce(${acmeRenewal.leaseExpiresAt}, 0)`, now)),
          ),
        )
        .returning({ id: acmeRenewal.id });
      return taken.length === 1;
    },
    async release(holder, outcome) {
      const now = clock();
      await db.transaction(async (tx) => {
        const [row] = await tx.select({ leaseHolder: acmeRenewal.leaseHolder }).from(acmeRenewal).where(eq(acmeRenewal.id, 1)).for('update');
        const lease = row?.leaseHolder === holder ? { leaseHolder: null, leaseExpiresAt: null } : {};
        await tx.update(acmeRenewal).set({ ...lease, ...outcome, updatedAt: now }).where(eq(acmeRenewal.id, 1));
      });
    },
    async schedule(outcome) {
      await ensureRow();
      await db.update(acmeRenewal).set({ ...outcome, updatedAt: clock() }).where(eq(acmeRenewal.id, 1));
    },
  };
}

export function createPgAcmeChallengesStore(db: PgDb): AcmeChallengesRepo {
  return {
    async put(row) {
      await db.insert(acmeChallenges).values(row).onConflictDoUpdate({ target: acmeChallenges.token, set: row });
    },
    async httpByToken(token, now) {
      const [row] = await db.select().from(acmeChallenges).where(and(eq(acmeChallenges.token, token), eq(acmeChallenges.type, 'http-01')));
      return row && row.expiresAt > now ? row : undefined;
    },
    async tlsAlpnByDomain(domain, now) {
      const [row] = await db
        .select()
        .from(acmeChallenges)
        .where(and(eq(acmeChallenges.domain, domain), eq(acmeChallenges.type, 'tls-alpn-01'), gt(acmeChallenges.expiresAt, now)))
        .orderBy(desc(acmeChallenges.createdAt))
        .limit(1);
      return row;
    },
    async remove(token) {
      await db.delete(acmeChallenges).where(eq(acmeChallenges.token, token));
    },
    async purgeExpired(now) {
      return (await db.delete(acmeChallenges).where(lte(acmeChallenges.expiresAt, now)).returning({ token: acmeChallenges.token })).length;
    },
  };
}
