import { and, eq, sql } from 'drizzle-orm';
import type { SettingsStore } from './ports.js';
import type { Db } from './open-database.js';
import { settings } from './schema.js';

/** The sealed TLS session-ticket keys (src/tls/ticket-keys.ts), written with each activation. */
export const TICKET_KEYS_SETTING = 'tls.ticket_keys';

/** Small named values every process on the data directory shares (the `settings` table). */
export function createSettingsRepo(db: Db, clock: () => number = Date.now): SettingsStore {
  // Read often (ticket keys on every sync, the master-key check at boot): prepared once.
  const read = db
    .select({ value: settings.value, updatedAt: settings.updatedAt })
    .from(settings)
    .where(eq(settings.name, sql.placeholder('name')))
    .prepare();
  return {
    async get(name: string): Promise<{ value: Buffer; updatedAt: number } | undefined> {
      const row = read.get({ name });
      return row ? { value: Buffer.from(row.value), updatedAt: row.updatedAt } : undefined;
    },
    async set(name: string, value: Buffer): Promise<void> {
      const updatedAt = clock();
      db.insert(settings).values({ name, value, updatedAt }).onConflictDoUpdate({ target: settings.name, set: { value, updatedAt } }).run();
    },
    /** Replaces the value only if nobody wrote it since `expectedUpdatedAt` (of several processes, one wins). */
    async replaceIfUnchanged(name: string, value: Buffer, expectedUpdatedAt: number | undefined, now: number = clock()): Promise<boolean> {
      if (expectedUpdatedAt === undefined) return db.insert(settings).values({ name, value, updatedAt: now }).onConflictDoNothing().run().changes === 1;
      return db.update(settings).set({ value, updatedAt: now }).where(and(eq(settings.name, name), eq(settings.updatedAt, expectedUpdatedAt))).run().changes === 1;
    },
    /** Stores `value` unless the name is already set; returns what is stored now (the first writer wins a race). */
    async putIfAbsent(name: string, value: Buffer, now: number = clock()): Promise<Buffer> {
      db.insert(settings).values({ name, value, updatedAt: now }).onConflictDoNothing().run();
      return (await read.get({ name }))!.value as Buffer;
    },
  };
}

