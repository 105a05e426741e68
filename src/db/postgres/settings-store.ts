import { and, eq } from 'drizzle-orm';
import type { AcmeAccountRepo } from '../acme-account-repo.js';
import type { SettingsStore } from '../ports.js';
import type { PgDb } from './open-postgres.js';
import { settings } from './schema.js';

const ACCOUNT_SETTING = 'acme.account';
const CONFIG_SETTING = 'acme.config';

export function createPgSettingsStore(db: PgDb, clock: () => number): SettingsStore {
  const read = async (name: string) => (await db.select({ value: settings.value, updatedAt: settings.updatedAt }).from(settings).where(eq(settings.name, name)))[0];
  return {
    get: read,
    async set(name, value) {
      const updatedAt = clock();
      await db.insert(settings).values({ name, value, updatedAt }).onConflictDoUpdate({ target: settings.name, set: { value, updatedAt } });
    },
    async replaceIfUnchanged(name, value, expectedUpdatedAt, now = clock()) {
      const written =
        expectedUpdatedAt === undefined
          ? await db.insert(settings).values({ name, value, updatedAt: now }).onConflictDoNothing().returning({ name: settings.name })
          : await db
              .update(settings)
              .set({ value, updatedAt: now })
              .where(and(eq(settings.name, name), eq(settings.updatedAt, expectedUpdatedAt)))
              .returning({ name: settings.name });
      return written.length === 1;
    },
    async putIfAbsent(name, value, now = clock()) {
      await db.insert(settings).values({ name, value, updatedAt: now }).onConflictDoNothing();
      return (await read(name))!.value;
    },
  };
}

/** The ACME account and configuration, sealed, in the settings table (as in SQLite). */
export function createPgAcmeAccountStore(db: PgDb, clock: () => number): AcmeAccountRepo {
  const get = async (name: string) => (await db.select({ value: settings.value }).from(settings).where(eq(settings.name, name)))[0]?.value;
  const put = async (name: string, value: Buffer) => {
    const updatedAt = clock();
    await db.insert(settings).values({ name, value, updatedAt }).onConflictDoUpdate({ target: settings.name, set: { value, updatedAt } });
  };
  return {
    account: () => get(ACCOUNT_SETTING),
    async putAccountIfAbsent(sealed) {
      await db.insert(settings).values({ name: ACCOUNT_SETTING, value: sealed, updatedAt: clock() }).onConflictDoNothing();
      return (await get(ACCOUNT_SETTING))!;
    },
    replaceAccount: (sealed) => put(ACCOUNT_SETTING, sealed),
    storedConfig: () => get(CONFIG_SETTING),
    putConfig: (sealed) => put(CONFIG_SETTING, sealed),
    async removeConfig() {
      await db.delete(settings).where(eq(settings.name, CONFIG_SETTING));
    },
  };
}
