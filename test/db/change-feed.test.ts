import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChangeFeed, type CatchUpReason } from '../../src/db/postgres/change-feed.js';
import { CHANGES_CHANNEL, type ChangeKind } from '../../src/db/postgres/notify.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });

/** What a feed reported, in order. */
function recorder() {
  const events: Array<{ change: ChangeKind } | { catchUp: CatchUpReason } | { connected: boolean }> = [];
  return {
    events,
    changes: () => events.flatMap((event) => ('change' in event ? [event.change] : [])),
    catchUps: () => events.flatMap((event) => ('catchUp' in event ? [event.catchUp] : [])),
    options: {
      onChange: (change: ChangeKind) => events.push({ change }),
      onCatchUp: (catchUp: CatchUpReason) => events.push({ catchUp }),
      onConnection: (connected: boolean) => events.push({ connected }),
    },
  };
}

async function notifyFrom(url: string, kind: string, commit = true): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, kind]);
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
  } finally {
    await client.end();
  }
}

async function feedSessions(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'hotcert-change-feed' AND datname = current_database()");
    return Number(result.rows[0]!.n);
  } finally {
    await client.end();
  }
}

describe('change feed (one LISTEN session on a real PostgreSQL)', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('delivers a NOTIFY committed by another client, none from a rolled-back transaction, and asks for a catch-up once connected', async () => {
    const url = await server.createDatabase();
    const seen = recorder();
    const feed = startChangeFeed({ connection: { connectionString: url }, logger, ...seen.options });
    try {
      await waitFor(async () => feed.connected(), Boolean, 10_000);
      expect(seen.catchUps()).toEqual(['connected']);
      await notifyFrom(url, 'webhook_ca', false);
      await notifyFrom(url, 'certificate');
      await notifyFrom(url, 'not-a-kind');
      await notifyFrom(url, 'users');
      await waitFor(async () => seen.changes(), (changes) => changes.length >= 2, 10_000);
      // PostgreSQL delivers in commit order: the rolled-back and the unknown kinds never reach onChange.
      expect(seen.changes()).toEqual(['certificate', 'users']);
    } finally {
      await feed.close();
    }
  });

  it('reconnects after PostgreSQL stops and starts again, asks for a catch-up, and receives notifications again', async () => {
    const url = await server.createDatabase();
    const seen = recorder();
    const feed = startChangeFeed({ connection: { connectionString: url }, logger, backoff: { initialMs: 50, maxMs: 500 }, ...seen.options });
    try {
      await waitFor(async () => feed.connected(), Boolean, 10_000);
      await server.stop();
      await waitFor(async () => feed.connected(), (connected) => !connected, 10_000);
      await server.start();
      await waitFor(async () => seen.catchUps(), (reasons) => reasons.includes('reconnected'), 30_000);
      expect(feed.connected()).toBe(true);
      expect(seen.events.filter((event) => 'connected' in event)).toEqual([{ connected: true }, { connected: false }, { connected: true }]);
      await notifyFrom(url, 'certificate');
      await waitFor(async () => seen.changes(), (changes) => changes.includes('certificate'), 10_000);
      expect(await feedSessions(url)).toBe(1);
    } finally {
      await feed.close();
    }
  }, 60_000);

  it('polls for a catch-up while connected', async () => {
    const url = await server.createDatabase();
    const seen = recorder();
    const feed = startChangeFeed({ connection: { connectionString: url }, logger, pollIntervalMs: 50, ...seen.options });
    try {
      await waitFor(async () => seen.catchUps().filter((reason) => reason === 'poll').length, (polls) => polls >= 3, 10_000);
    } finally {
      await feed.close();
    }
  });

  it('close ends the LISTEN session and every callback, also while it is retrying', async () => {
    const url = await server.createDatabase();
    const seen = recorder();
    const feed = startChangeFeed({ connection: { connectionString: url }, logger, pollIntervalMs: 20, ...seen.options });
    await waitFor(async () => feed.connected(), Boolean, 10_000);
    expect(await feedSessions(url)).toBe(1);
    await feed.close();
    expect(feed.connected()).toBe(false);
    await waitFor(() => feedSessions(url), (sessions) => sessions === 0, 10_000);
    const count = seen.events.length;
    await notifyFrom(url, 'certificate');
    // A later NOTIFY reaches a second listener but not the closed feed.
    const witness = recorder();
    const second = startChangeFeed({ connection: { connectionString: url }, logger, ...witness.options });
    await waitFor(async () => second.connected(), Boolean, 10_000);
    await notifyFrom(url, 'users');
    await waitFor(async () => witness.changes(), (changes) => changes.includes('users'), 10_000);
    await second.close();
    expect(seen.events.length).toBe(count);

    // Pointed at a port where nothing listens, it keeps retrying until closed, and then stops.
    const nowhere = recorder();
    const retrying = startChangeFeed({ connection: { host: '127.0.0.1', port: 1, user: 'x', database: 'x' }, logger, backoff: { initialMs: 10, maxMs: 20 }, ...nowhere.options });
    await retrying.close();
    expect(retrying.connected()).toBe(false);
    expect(nowhere.events).toEqual([]);
  });
});
