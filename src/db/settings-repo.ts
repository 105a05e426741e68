import { eq, sql } from 'drizzle-orm';
import type { Db } from './open-database.js';
import { settings } from './schema.js';

/** The sealed TLS session-ticket keys (src/tls/ticket-keys.ts), written with each activation. */
export const TICKET_KEYS_SETTING = 'tls.ticket_keys';

/** Small named values every process on the data directory shares (the `settings` table). */
export function createSettingsRepo(db: Db, clock: () => number) {
  // Read on every login attempt (the throttle's reset marker): prepared once.
  const read = db
    .select({ value: settings.value, updatedAt: settings.updatedAt })
    .from(settings)
    .where(eq(settings.name, sql.placeholder('name')))
    .prepare();
  return {
    get(name: string): { value: Buffer; updatedAt: number } | undefined {
      return read.get({ name });
    },
    insertIfAbsent(name: string, value: Buffer): void {
      db.insert(settings).values({ name, value, updatedAt: clock() }).onConflictDoNothing().run();
    },
    set(name: string, value: Buffer): void {
      const updatedAt = clock();
      db.insert(settings).values({ name, value, updatedAt }).onConflictDoUpdate({ target: settings.name, set: { value, updatedAt } }).run();
    },
  };
}

export type SettingsRepo = ReturnType<typeof createSettingsRepo>;
