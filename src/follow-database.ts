/**
 * How a server on the shared database (PostgreSQL) stays in step with its fleet (issue 13 items 2 and 4):
 * the change feed applies every committed change at once, and a boot without the database keeps
 * retrying until it can run the boot rules and catch up. SQLite keeps instance.ts's short poll instead.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from './db/database-unavailable.js';
import { startChangeFeed, type ChangeFeed } from './db/postgres/change-feed.js';
import type { ChangeKind } from './db/postgres/notify.js';
import type { Services } from './services.js';

export interface FollowOptions {
  /** The change feed's safety-net poll (default 5 s). */
  pollIntervalMs?: number | undefined;
  /** Reconnect delays of the feed and of a boot without the database: doubling, capped (defaults 100 ms and 2 s). */
  backoff?: { initialMs?: number | undefined; maxMs?: number | undefined } | undefined;
}

export interface FollowDeps {
  services: Pick<Services, 'certificates' | 'webhookCa' | 'users' | 'database'>;
  /** DATABASE_URL as node-postgres options: the feed's own session. */
  connection: pg.ClientConfig;
  /** Connects, migrates and checks the master key (services.ts); only called after a boot without the database. */
  connect: () => Promise<void>;
  /** The boot rules that need the database (instance.ts): admin, certificate, trust store. */
  boot: () => Promise<void>;
  logger: Logger;
  options?: FollowOptions | undefined;
}

export interface DatabaseFollower {
  close(): Promise<void>;
}

export function followDatabase(deps: FollowDeps): DatabaseFollower {
  const { services, logger } = deps;
  const { certificates, webhookCa, users, database } = services;
  const initialDelay = deps.options?.backoff?.initialMs ?? 100;
  const maxDelay = deps.options?.backoff?.maxMs ?? 2000;
  let feed: ChangeFeed | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let recovering: Promise<void> | undefined;

  const report = (what: string) => (error: unknown) => {
    // An outage is reported once by the database link; only other failures are worth a line each.
    if (isDatabaseUnavailable(error)) return;
    logger.error({ event: 'sync.failed', what, error_name: (error as Error).name }, `${what} sync from database failed`);
  };
  const syncCertificate = () => void certificates.syncFromDatabase().catch(report('certificate'));
  const syncWebhookCa = () => void webhookCa.syncFromDatabase().catch(report('webhook CA'));

  function onChange(kind: ChangeKind): void {
    if (kind === 'certificate') syncCertificate();
    else if (kind === 'webhook_ca') syncWebhookCa();
    else {
      users.forgetVerifiedTokens();
      logger.info({ event: 'users.changed' }, 'users or tokens changed in the fleet: recently verified tokens forgotten');
    }
  }

  function startFeed(): void {
    feed = startChangeFeed({
      connection: deps.connection,
      logger,
      pollIntervalMs: deps.options?.pollIntervalMs,
      backoff: deps.options?.backoff,
      onChange,
      onCatchUp(reason) {
        // Whatever was sent while the feed was away is lost, a revoked token included.
        if (reason === 'reconnected') users.forgetVerifiedTokens();
        syncCertificate();
        syncWebhookCa();
      },
      onConnection: (connected) => database.set(connected ? 'ok' : 'unreachable'),
    });
  }

  /** After a boot without the database: connect, migrate, check the key, run the boot rules, then follow. */
  function retry(delay: number): void {
    if (closed) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      recovering = recover(delay).finally(() => (recovering = undefined));
    }, delay);
    retryTimer.unref();
  }

  async function recover(delay: number): Promise<void> {
    try {
      await deps.connect();
      if (closed) return;
      await deps.boot();
    } catch (error) {
      if (closed) return;
      if (isDatabaseUnavailable(error)) {
        retry(Math.min(delay * 2, maxDelay));
        return;
      }
      // A key that does not open this fleet's data, or a database that refuses us: retrying will not help.
      logger.error({ event: 'database.recovery_failed', error_name: (error as Error).name, message: (error as Error).message }, 'the database is reachable but this instance cannot join it; still serving the last-known-good certificate');
      return;
    }
    if (closed) return;
    logger.info({ event: 'database.caught_up' }, 'the database is back: boot rules applied, following its changes');
    // The feed's session coming up is what makes the database `ok` again (writes reopen then).
    startFeed();
  }

  if (database.state() === 'ok') startFeed();
  else retry(initialDelay);

  return {
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await recovering?.catch(() => undefined);
      await feed?.close();
    },
  };
}
