import { eq } from 'drizzle-orm';
import type { Db } from './open-database.js';
import { settings } from './schema.js';

export const ACCOUNT_SETTING = 'acme.account';
export const CONFIG_SETTING = 'acme.config';

/** The ACME account (key and URL) and the admin's ACME configuration, both sealed, in the settings table. */
export function createAcmeAccountRepo(db: Db, clock: () => number) {
  const get = (name: string) => db.select({ value: settings.value }).from(settings).where(eq(settings.name, name)).get()?.value;
  const put = (name: string, value: Buffer) => {
    const updatedAt = clock();
    db.insert(settings).values({ name, value, updatedAt }).onConflictDoUpdate({ target: settings.name, set: { value, updatedAt } }).run();
  };
  return {
    async account(): Promise<Buffer | undefined> {
      return get(ACCOUNT_SETTING);
    },
    /** The first account stored wins a race between processes; returns what is stored now. */
    async putAccountIfAbsent(sealed: Buffer): Promise<Buffer> {
      db.insert(settings).values({ name: ACCOUNT_SETTING, value: sealed, updatedAt: clock() }).onConflictDoNothing().run();
      return get(ACCOUNT_SETTING)!;
    },
    async replaceAccount(sealed: Buffer): Promise<void> {
      put(ACCOUNT_SETTING, sealed);
    },
    async storedConfig(): Promise<Buffer | undefined> {
      return get(CONFIG_SETTING);
    },
    async putConfig(sealed: Buffer): Promise<void> {
      put(CONFIG_SETTING, sealed);
    },
    async removeConfig(): Promise<void> {
      db.delete(settings).where(eq(settings.name, CONFIG_SETTING)).run();
    },
  };
}

export type AcmeAccountRepo = ReturnType<typeof createAcmeAccountRepo>;
