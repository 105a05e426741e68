import { and, desc, eq, gt, lte, sql } from 'drizzle-orm';
import type { Db } from './open-database.js';
import { acmeChallenges } from './schema.js';

export type AcmeChallengeRow = typeof acmeChallenges.$inferSelect;

/** Pending ACME challenges, shared by every process on the database (whichever one the CA reaches answers). */
export function createAcmeChallengesRepo(db: Db) {
  const byToken = db
    .select()
    .from(acmeChallenges)
    .where(and(eq(acmeChallenges.token, sql.placeholder('token')), eq(acmeChallenges.type, 'http-01')))
    .prepare();
  return {
    async put(row: AcmeChallengeRow): Promise<void> {
      db.insert(acmeChallenges).values(row).onConflictDoUpdate({ target: acmeChallenges.token, set: row }).run();
    },
    /** The unexpired HTTP-01 challenge with this token. */
    async httpByToken(token: string, now: number): Promise<AcmeChallengeRow | undefined> {
      const row = byToken.get({ token });
      return row && row.expiresAt > now ? row : undefined;
    },
    /** The newest unexpired TLS-ALPN-01 challenge for this name. */
    async tlsAlpnByDomain(domain: string, now: number): Promise<AcmeChallengeRow | undefined> {
      return db
        .select()
        .from(acmeChallenges)
        .where(and(eq(acmeChallenges.domain, domain), eq(acmeChallenges.type, 'tls-alpn-01'), gt(acmeChallenges.expiresAt, now)))
        .orderBy(desc(acmeChallenges.createdAt))
        .get();
    },
    async remove(token: string): Promise<void> {
      db.delete(acmeChallenges).where(eq(acmeChallenges.token, token)).run();
    },
    async purgeExpired(now: number): Promise<number> {
      return db.delete(acmeChallenges).where(lte(acmeChallenges.expiresAt, now)).run().changes;
    },
  };
}

export type AcmeChallengesRepo = ReturnType<typeof createAcmeChallengesRepo>;
