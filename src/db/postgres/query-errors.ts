import { DrizzleQueryError } from 'drizzle-orm/errors';
import pg from 'pg';
import { asDatabaseUnavailable, isDatabaseUnavailable } from '../database-unavailable.js';

const DESCRIPTIONS: Record<string, string> = {
  '28P01': 'password authentication failed',
  '28000': 'the server does not accept this user',
  '3D000': 'the database does not exist',
  '42501': 'permission denied',
  '53100': 'the server is out of disk space',
  '53300': 'too many connections',
};

/**
 * A PostgreSQL error other than "unreachable", re-thrown with its SQLSTATE and a few words only: the
 * driver's message (and drizzle's, which quotes the query and its parameters) never leaves the store.
 */
export class PostgresQueryError extends Error {
  override name = 'PostgresQueryError';
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.code = code;
  }

  static from(error: unknown, context = 'a database query failed'): PostgresQueryError {
    const code = sqlState(error);
    const words = code && DESCRIPTIONS[code] ? `: ${DESCRIPTIONS[code]}` : '';
    return new PostgresQueryError(`${context}${words}${code ? ` (SQLSTATE ${code})` : ''}`, code);
  }
}

function sqlState(error: unknown): string | undefined {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True for errors that come from the driver or drizzle (to be replaced), false for our own (PreconditionFailedError, …). */
function isDriverError(error: unknown): boolean {
  return error instanceof DrizzleQueryError || error instanceof pg.DatabaseError;
}

/** What a store throws instead of a driver error. */
export function storeError(error: unknown): unknown {
  if (isDatabaseUnavailable(error)) return asDatabaseUnavailable(error);
  if (isDriverError(error)) return PostgresQueryError.from(error);
  return error;
}

/** Wraps every method of a store so its failures are storeError()s. */
export function guardStore<T extends object>(store: T): T {
  const guarded: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(store)) {
    guarded[name] =
      typeof value === 'function'
        ? async (...args: unknown[]) => {
            try {
              return await (value as (...a: unknown[]) => Promise<unknown>).apply(store, args);
            } catch (error) {
              throw storeError(error);
            }
          }
        : value;
  }
  return guarded as T;
}
