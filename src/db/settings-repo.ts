import { eq } from 'drizzle-orm';
import type { Db } from './open-database.js';
import { settings } from './schema.js';

/** Small named values every process on the data directory shares (the `settings` table). */
export function createSettingsRepo(db: Db) {
  return {
    get(name: string): Buffer | undefined {
      // A read-only command on a database from before the settings table (never migrated, as it only reads).
      if (db.$client.readonly && !db.$client.prepare("select 1 from sqlite_master where type = 'table' and name = 'settings'").get()) return undefined;
      const row = db.select({ value: settings.value }).from(settings).where(eq(settings.name, name)).get();
      return row ? Buffer.from(row.value) : undefined;
    },
    /** Stores `value` unless the name is already set; returns what is stored now (the first writer wins a race). */
    putIfAbsent(name: string, value: Buffer, now: number): Buffer {
      db.insert(settings).values({ name, value, updatedAt: now }).onConflictDoNothing().run();
      return this.get(name)!;
    },
  };
}

export type SettingsRepo = ReturnType<typeof createSettingsRepo>;
