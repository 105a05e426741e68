import { and, count, eq, gt, lte, ne } from 'drizzle-orm';
import type { TokenStore, UserStore } from '../ports.js';
import { notifyChange } from './notify-in-transaction.js';
import type { PgDb } from './open-postgres.js';
import { tokens, users } from './schema.js';

/** Users are fleet-wide: every change notifies 'users' in its transaction, so other instances drop what they cached. */
export function createPgUserStore(db: PgDb): UserStore {
  return {
    async findByName(username) {
      return (await db.select().from(users).where(eq(users.username, username)))[0];
    },
    async findById(id) {
      return (await db.select().from(users).where(eq(users.id, id)))[0];
    },
    async insert(user) {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .insert(users)
          .values({ username: user.username, passwordHash: user.passwordHash, role: user.role, mustChangePassword: user.mustChangePassword, createdAt: user.now, updatedAt: user.now })
          .onConflictDoNothing()
          .returning();
        if (row) await notifyChange(tx, 'users');
        return row;
      });
    },
    async setPassword(id, passwordHash, mustChangePassword, now, keepTokenHash) {
      await db.transaction(async (tx) => {
        await tx.update(users).set({ passwordHash, mustChangePassword, updatedAt: now }).where(eq(users.id, id));
        await tx.delete(tokens).where(keepTokenHash ? and(eq(tokens.userId, id), ne(tokens.tokenHash, keepTokenHash)) : eq(tokens.userId, id));
        await notifyChange(tx, 'users');
      });
    },
    async delete(id) {
      return db.transaction(async (tx) => {
        const gone = (await tx.delete(users).where(eq(users.id, id)).returning({ id: users.id })).length > 0;
        if (gone) await notifyChange(tx, 'users');
        return gone;
      });
    },
    async names() {
      return (await db.select({ username: users.username }).from(users)).map((row) => row.username);
    },
    async count() {
      return (await db.select({ n: count() }).from(users))[0]?.n ?? 0;
    },
  };
}

export function createPgTokenStore(db: PgDb): TokenStore {
  return {
    async insert(token) {
      await db.insert(tokens).values({ tokenHash: token.tokenHash, userId: token.userId, createdAt: token.now, expiresAt: token.expiresAt });
    },
    async findUser(tokenHash, now) {
      const [row] = await db
        .select({ user: users })
        .from(tokens)
        .innerJoin(users, eq(tokens.userId, users.id))
        .where(and(eq(tokens.tokenHash, tokenHash), gt(tokens.expiresAt, now)));
      return row?.user;
    },
    async revoke(tokenHash) {
      await db.transaction(async (tx) => {
        await tx.delete(tokens).where(eq(tokens.tokenHash, tokenHash));
        await notifyChange(tx, 'users');
      });
    },
    async purgeExpired(now) {
      await db.delete(tokens).where(lte(tokens.expiresAt, now));
    },
  };
}
