import { and, eq, gt, lte, ne, sql } from 'drizzle-orm';
import type { TokenStore, UserStore } from './ports.js';
import type { Db } from './open-database.js';
import { tokens, users } from './schema.js';

export type Role = 'ROLE_ADMIN' | 'ROLE_USER';
export type UserRow = typeof users.$inferSelect;

export function createUsersRepo(db: Db): UserStore {
  return {
    async findByName(username: string): Promise<UserRow | undefined> {
      return db.select().from(users).where(eq(users.username, username)).get();
    },
    async findById(id: number): Promise<UserRow | undefined> {
      return db.select().from(users).where(eq(users.id, id)).get();
    },
    async insert(user: { username: string; passwordHash: string; role: Role; mustChangePassword: boolean; now: number }): Promise<UserRow | undefined> {
      return db
        .insert(users)
        .values({
          username: user.username,
          passwordHash: user.passwordHash,
          role: user.role,
          mustChangePassword: user.mustChangePassword,
          createdAt: user.now,
          updatedAt: user.now,
        })
        .onConflictDoNothing()
        .returning()
        .get();
    },
    /** Sets the password and revokes every token of the user except `keepTokenHash`. */
    async setPassword(id: number, passwordHash: string, mustChangePassword: boolean, now: number, keepTokenHash?: string): Promise<void> {
      db.transaction((tx) => {
        tx.update(users).set({ passwordHash, mustChangePassword, updatedAt: now }).where(eq(users.id, id)).run();
        const revoke = keepTokenHash
          ? and(eq(tokens.userId, id), ne(tokens.tokenHash, keepTokenHash))
          : eq(tokens.userId, id);
        tx.delete(tokens).where(revoke).run();
      });
    },
    async delete(id: number): Promise<boolean> {
      return db.delete(users).where(eq(users.id, id)).run().changes > 0;
    },
    /** Every user name (few: an appliance has a handful of accounts). */
    async names(): Promise<string[]> {
      return db.select({ username: users.username }).from(users).all().map((row) => row.username);
    },
    async count(): Promise<number> {
      return db.select({ n: sql<number>`count(*)` }).from(users).get()?.n ?? 0;
    },
  };
}

export function createTokensRepo(db: Db): TokenStore {
  // Every authenticated request runs this: prepare it once instead of rebuilding the SQL each time.
  const findUserByToken = db
    .select({ user: users })
    .from(tokens)
    .innerJoin(users, eq(tokens.userId, users.id))
    .where(and(eq(tokens.tokenHash, sql.placeholder('tokenHash')), gt(tokens.expiresAt, sql.placeholder('now'))))
    .prepare();

  return {
    async insert(token: { tokenHash: string; userId: number; now: number; expiresAt: number }): Promise<void> {
      db.insert(tokens)
        .values({ tokenHash: token.tokenHash, userId: token.userId, createdAt: token.now, expiresAt: token.expiresAt })
        .run();
    },
    /** The user behind a live token, or undefined. */
    async findUser(tokenHash: string, now: number): Promise<UserRow | undefined> {
      return findUserByToken.get({ tokenHash, now })?.user;
    },
    async revoke(tokenHash: string): Promise<void> {
      db.delete(tokens).where(eq(tokens.tokenHash, tokenHash)).run();
    },
    async purgeExpired(now: number): Promise<void> {
      db.delete(tokens).where(lte(tokens.expiresAt, now)).run();
    },
  };
}

