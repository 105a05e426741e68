import pg from 'pg';
import type { Logger } from 'pino';
import { CHANGES_CHANNEL, isChangeKind, type ChangeKind } from './notify.js';

/** Why the instance should re-read everything: the feed (re)connected, or the slow poll came round. */
export type CatchUpReason = 'connected' | 'reconnected' | 'poll';

export interface ChangeFeedOptions {
  /** Where to LISTEN: the same database as the stores, on a session of its own (never a pooled one). */
  connection: pg.ClientConfig;
  /** A change committed somewhere in the fleet (this instance's own included). */
  onChange(kind: ChangeKind): void;
  /** Notifications sent while the feed was away are lost: re-read state (cheap when nothing changed). */
  onCatchUp(reason: CatchUpReason): void;
  /** The LISTEN session came up or went away (health reports it). */
  onConnection?(connected: boolean): void;
  logger: Logger;
  /** The safety net: a catch-up (and a liveness probe of the session) this often while connected. Default 5 s. */
  pollIntervalMs?: number | undefined;
  /** Reconnect delays: doubling from `initialMs`, capped at `maxMs` (defaults 100 ms and 2 s). */
  backoff?: { initialMs?: number | undefined; maxMs?: number | undefined } | undefined;
}

export interface ChangeFeed {
  connected(): boolean;
  /** Ends the session and every timer; no callback runs afterwards. */
  close(): Promise<void>;
}

/**
 * One dedicated pg.Client LISTENing on CHANGES_CHANNEL (STYLE 16): a LISTEN must live on one session,
 * so it never goes through the pool or a transaction-mode pooler. On error or end it reconnects with
 * capped backoff and asks for a full catch-up after every (re)connect; a slow poll covers the rest.
 */
export function startChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { logger } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 5000;
  const initialDelay = options.backoff?.initialMs ?? 100;
  const maxDelay = options.backoff?.maxMs ?? 2000;
  let client: pg.Client | undefined;
  let isConnected = false;
  let everConnected = false;
  let closed = false;
  let delay = initialDelay;
  let retryTimer: NodeJS.Timeout | undefined;
  let probing = false;

  const safely = (what: string, call: () => void) => {
    try {
      call();
    } catch (error) {
      logger.error({ event: 'change_feed.callback_failed', callback: what, error_name: (error as Error).name }, 'a change-feed callback failed');
    }
  };

  function setConnected(next: boolean): void {
    if (next === isConnected) return;
    isConnected = next;
    if (!closed) safely('onConnection', () => options.onConnection?.(next));
  }

  /** The session is gone (error, end, failed probe): drop it once and try again later. */
  function lost(session: pg.Client, code: string | undefined): void {
    if (session !== client) return;
    client = undefined;
    session.removeAllListeners('notification');
    session.end().catch(() => undefined);
    if (isConnected) logger.warn({ event: 'change_feed.lost', code }, 'change feed lost its database session; reconnecting');
    setConnected(false);
    scheduleConnect();
  }

  function scheduleConnect(): void {
    if (closed || retryTimer) return;
    const wait = delay;
    delay = Math.min(delay * 2, maxDelay);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, wait);
    retryTimer.unref();
  }

  async function connect(): Promise<void> {
    if (closed) return;
    const session = new pg.Client({ ...options.connection, application_name: 'hotcert-change-feed', keepAlive: true, connectionTimeoutMillis: options.connection.connectionTimeoutMillis ?? 5000 });
    client = session;
    // Without a listener an 'error' event would crash the process; the session is replaced instead.
    session.on('error', (error: Error & { code?: string }) => lost(session, error.code));
    session.on('end', () => lost(session, undefined));
    session.on('notification', (message) => {
      if (closed || message.channel !== CHANGES_CHANNEL) return;
      const kind = message.payload ?? '';
      if (!isChangeKind(kind)) {
        logger.warn({ event: 'change_feed.unknown_kind' }, 'change notification of an unknown kind ignored');
        return;
      }
      safely('onChange', () => options.onChange(kind));
    });
    try {
      await session.connect();
      await session.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      if (session === client) {
        client = undefined;
        session.end().catch(() => undefined);
        logger.debug({ event: 'change_feed.connect_failed', code: (error as { code?: unknown }).code }, 'change feed could not connect; retrying');
        scheduleConnect();
      }
      return;
    }
    if (closed || session !== client) {
      await session.end().catch(() => undefined);
      return;
    }
    delay = initialDelay;
    const reason: CatchUpReason = everConnected ? 'reconnected' : 'connected';
    everConnected = true;
    logger.info({ event: 'change_feed.listening', reason }, 'change feed listening');
    setConnected(true);
    // Anything committed before the LISTEN took effect was never sent to us: read it now.
    safely('onCatchUp', () => options.onCatchUp(reason));
  }

  // The poll also proves the session is alive: a half-open TCP connection would otherwise wait for keepalive.
  const pollTimer = setInterval(() => {
    const session = client;
    if (closed || !isConnected || !session || probing) return;
    probing = true;
    session
      .query('SELECT 1')
      .then(
        () => safely('onCatchUp', () => options.onCatchUp('poll')),
        (error: { code?: string }) => lost(session, error.code),
      )
      .finally(() => (probing = false));
  }, pollIntervalMs);
  pollTimer.unref();

  void connect();

  return {
    connected: () => isConnected,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(pollTimer);
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      const session = client;
      client = undefined;
      isConnected = false;
      if (session) {
        session.removeAllListeners('notification');
        await session.end().catch(() => undefined);
      }
    },
  };
}
