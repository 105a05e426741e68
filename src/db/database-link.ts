import type { Logger } from 'pino';

/** Whether this instance can reach its database: `unreachable` only happens with a shared one (PostgreSQL). */
export type DatabaseState = 'ok' | 'unreachable';

/**
 * The one record of whether the shared database is reachable: the change feed's session and the
 * degraded boot set it; `/v1/health` reports it, writes are refused up front while it is down (503),
 * and authenticated reads may then rely on recently verified tokens (users/user-service.ts).
 */
export function createDatabaseLink(deps: { logger: Logger; initial?: DatabaseState }) {
  let state: DatabaseState = deps.initial ?? 'ok';
  let since = Date.now();
  return {
    state: () => state,
    /** When the current state began (ms since the epoch), for the log line of the recovery. */
    since: () => since,
    set(next: DatabaseState): void {
      if (next === state) return;
      const downMs = Date.now() - since;
      state = next;
      since = Date.now();
      if (next === 'unreachable') deps.logger.warn({ event: 'database.unreachable' }, 'the database is unreachable: serving goes on, changes answer 503 until it is back');
      else deps.logger.info({ event: 'database.reachable', down_ms: downMs }, 'the database is reachable again');
    },
  };
}

export type DatabaseLink = ReturnType<typeof createDatabaseLink>;
