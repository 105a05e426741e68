import path from 'node:path';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { Logger } from 'pino';
import { asDatabaseUnavailable, isDatabaseUnavailable } from '../database-unavailable.js';
import { findMigrationsFolder } from '../open-database.js';
import type { Stores } from '../stores.js';
import { postgresConnectionConfig } from './connection-config.js';
import { createPostgresStores } from './postgres-stores.js';
import { PostgresQueryError } from './query-errors.js';
import * as schema from './schema.js';

export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };

/** Held while migrating, so instances starting together migrate once (the others wait, then find it done). */
const MIGRATION_LOCK = 0x686f7463; // "hotc"

export interface PostgresBackend {
  stores: Stores;
  pool: pg.Pool;
  /** Connects and migrates; DatabaseUnavailableError when the server cannot be reached. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface PostgresBackendOptions {
  clock: () => number;
  logger: Logger;
  /** Connections in the pool (the LISTEN connection is not one of them). */
  max?: number | undefined;
  connectionTimeoutMs?: number | undefined;
}

export function postgresMigrationsFolder(): string {
  return path.join(findMigrationsFolder(), 'postgres');
}

/** The pool connects lazily: constructing the backend never fails on an unreachable server; ready() does. */
export function openPostgresBackend(url: string, options: PostgresBackendOptions): PostgresBackend {
  const pool = new pg.Pool({
    ...postgresConnectionConfig(url),
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'hotcert',
  });
  // An idle connection dropped by the server (restart, failover) is removed by the pool; without a listener it would crash the process.
  pool.on('error', (error) => options.logger.warn({ event: 'database.connection_lost', code: (error as { code?: unknown }).code }, 'a pooled PostgreSQL connection was lost'));
  const db = drizzle({ client: pool, schema }) as PgDb;
  const stores = createPostgresStores(db, options.clock);
  let closed = false;

  return {
    stores,
    pool,
    async ready() {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw toReadyError(error);
      }
      let broken: Error | undefined;
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
        try {
          await migrate(drizzle({ client }), { migrationsFolder: postgresMigrationsFolder() });
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
        }
      } catch (error) {
        broken = error as Error;
        throw toReadyError(error);
      } finally {
        client.release(broken);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** Unreachable: DatabaseUnavailableError. Anything else (wrong password, no such database): its SQLSTATE and a few words, never the driver's text. */
function toReadyError(error: unknown): Error {
  if (isDatabaseUnavailable(error)) return asDatabaseUnavailable(error);
  return PostgresQueryError.from(error, 'PostgreSQL refused to start hotcert');
}
