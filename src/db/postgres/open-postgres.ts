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
  /** DATABASE_URL as node-postgres options, for a connection outside the pool (the dedicated LISTEN one). */
  connection: pg.ClientConfig;
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
  const connection: pg.ClientConfig = { ...postgresConnectionConfig(url), application_name: 'hotcert', keepAlive: true };
  const pool = new pg.Pool({
    ...connection,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection dropped by the server (restart, failover) is removed by the pool; without a listener it would crash the process.
  pool.on('error', (error) => options.logger.warn({ event: 'database.connection_lost', code: (error as { code?: unknown }).code }, 'a pooled PostgreSQL connection was lost'));
  const db = drizzle({ client: pool, schema }) as PgDb;
  const stores = createPostgresStores(db, options.clock);
  let closed = false;

  return {
    stores,
    pool,
    connection,
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

/** Node's codes for a server certificate that sslmode does not accept (and for TLS refused by the server). */
const TLS_REFUSED = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)/;

/**
 * Unreachable: DatabaseUnavailableError. A certificate that sslmode refuses: which check failed. Anything else
 * (wrong password, no such database): its SQLSTATE and a few words. Never the driver's text.
 */
function toReadyError(error: unknown): Error {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TLS_REFUSED.test(code)) return new PostgresQueryError(`the PostgreSQL server's TLS certificate is not accepted under this sslmode (${code})`, code);
  if (error instanceof Error && error.message === 'The server does not support SSL connections') return new PostgresQueryError('the PostgreSQL server does not accept TLS, which sslmode asks for', undefined);
  if (isDatabaseUnavailable(error)) return asDatabaseUnavailable(error);
  return PostgresQueryError.from(error, 'PostgreSQL refused to start hotcert');
}
