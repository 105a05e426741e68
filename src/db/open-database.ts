import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/** The drizzle/ folder sits at the package root, whether we run from src/ (tests) or dist/src/ (build). */
export function findMigrationsFolder(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, 'drizzle');
    if (existsSync(path.join(candidate, 'meta', '_journal.json'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('drizzle/ migrations folder not found above ' + from);
    dir = parent;
  }
}

export function openDatabase(file: string, options: { readOnly?: boolean | undefined } = {}): Db {
  if (options.readOnly) {
    // Read-only commands: the file must exist, and nothing (not even a migration) is written.
    const client = new Database(file, { readonly: true, fileMustExist: true });
    client.pragma('busy_timeout = 5000');
    return drizzle({ client, schema }) as Db;
  }
  const client = new Database(file);
  client.pragma('journal_mode = WAL');
  client.pragma('busy_timeout = 5000');
  // Certificate changes must survive power loss: FULL fsyncs the WAL on every commit.
  client.pragma('synchronous = FULL');
  client.pragma('foreign_keys = ON');
  const db = drizzle({ client, schema }) as Db;
  migrateWithRetry(db);
  return db;
}

/** Two processes booting at once may race on the first migration; the loser retries and finds it applied. */
function migrateWithRetry(db: Db): void {
  const migrationsFolder = findMigrationsFolder();
  for (let attempt = 1; ; attempt++) {
    try {
      migrate(db, { migrationsFolder });
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50 * attempt);
    }
  }
}
