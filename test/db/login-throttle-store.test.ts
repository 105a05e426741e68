import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLoginThrottleRepo } from '../../src/db/login-throttle-repo.js';
import { openDatabase } from '../../src/db/open-database.js';
import type { LoginThrottleStore, ThrottleAttempt } from '../../src/db/ports.js';
import { openPostgresBackend } from '../../src/db/postgres/open-postgres.js';
import { createLoginThrottle } from '../../src/users/login-throttle.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

/**
 * The login throttle's store on both backends, each test on a fresh database with several separate
 * connections to it (as several processes or instances would have).
 */
interface Backend {
  name: 'sqlite' | 'postgres';
  open(connections: number): Promise<LoginThrottleStore[]>;
}

const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
let server: TestPostgres | undefined;

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await server?.close();
});

const sqlite: Backend = {
  name: 'sqlite',
  async open(connections) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-throttle-store-'));
    const dbs = Array.from({ length: connections }, () => openDatabase(path.join(dir, 'hotcert.db')));
    cleanups.push(() => {
      for (const db of dbs) db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return dbs.map((db) => createLoginThrottleRepo(db));
  },
};

const postgres: Backend = {
  name: 'postgres',
  async open(connections) {
    const url = await server!.createDatabase();
    const stores: LoginThrottleStore[] = [];
    for (let i = 0; i < connections; i++) {
      const backend = openPostgresBackend(url, { clock: Date.now, logger });
      cleanups.push(() => backend.close());
      await backend.ready();
      stores.push(backend.stores.loginThrottle);
    }
    return stores;
  },
};

const FREE = 5;
const attempt = (now: number, overrides: Partial<ThrottleAttempt> = {}): ThrottleAttempt => ({
  lockable: ['pair:1.2.3.4\nadmin', 'addr:1.2.3.4'],
  counted: ['name:admin'],
  now,
  windowMs: 60_000,
  maxEntries: 1000,
  lockMs: (key, failures) => (key.startsWith('pair:') && failures >= FREE ? 1000 * 2 ** (failures - FREE) : 0),
  ...overrides,
});

describe.each([sqlite, postgres])('login throttle store on $name', (backend) => {
  it('of 120 attempts at once over four connections, exactly the limit get through', async () => {
    const stores = await backend.open(4);
    const answers = await Promise.all(Array.from({ length: 120 }, (_, i) => stores[i % 4]!.reserve(attempt(1_000_000))));
    expect(answers.filter((answer) => answer.ok)).toHaveLength(FREE);
    const refused = answers.filter((answer) => !answer.ok);
    expect(refused).toHaveLength(120 - FREE);
    // The fifth started a 1 s lock; every refusal reports it.
    expect(refused.every((answer) => !answer.ok && answer.lockedUntil === 1_001_000)).toBe(true);
    const started = answers.flatMap((answer) => (answer.ok ? answer.counters.filter((counter) => counter.lockStartedMs > 0) : []));
    expect(started).toEqual([expect.objectContaining({ key: 'pair:1.2.3.4\nadmin', failures: FREE, lockStartedMs: 1000 })]);
  });

  it('a refused attempt counts nothing; after the lock the count goes on, and after the window it starts again', async () => {
    const [a, b] = await backend.open(2);
    for (let i = 0; i < FREE; i++) expect((await a!.reserve(attempt(0))).ok).toBe(true);
    expect(await b!.reserve(attempt(500))).toEqual({ ok: false, lockedUntil: 1000 });
    const after = await b!.reserve(attempt(1000));
    expect(after.ok && after.counters.map((counter) => [counter.key, counter.failures])).toEqual([
      ['pair:1.2.3.4\nadmin', FREE + 1],
      ['addr:1.2.3.4', FREE + 1],
      ['name:admin', FREE + 1],
    ]);
    // Window over and lock over: a fresh count.
    const fresh = await a!.reserve(attempt(1000 + 2000 + 60_001));
    expect(fresh.ok && fresh.counters.map((counter) => counter.failures)).toEqual([1, 1, 1]);
  });

  it('release removes the pair and gives one failure back to the others in the same window only', async () => {
    const [a, b] = await backend.open(2);
    const first = await a!.reserve(attempt(0));
    await a!.reserve(attempt(10));
    const last = await a!.reserve(attempt(20));
    if (!first.ok || !last.ok) throw new Error('not reserved');
    await b!.release({ remove: ['pair:1.2.3.4\nadmin'], giveBack: last.counters.slice(1).map((counter) => ({ key: counter.key, windowStart: counter.windowStart })) });
    // A stale window gives nothing back.
    await b!.release({ remove: [], giveBack: [{ key: 'addr:1.2.3.4', windowStart: 999 }] });
    const next = await a!.reserve(attempt(30));
    expect(next.ok && next.counters.map((counter) => counter.failures)).toEqual([1, 3, 3]);
  });

  it('keeps at most maxEntries rows, the least recently touched going first, and clear() forgets them all', async () => {
    const [a, b] = await backend.open(2);
    const only = (name: string): Partial<ThrottleAttempt> => ({ lockable: [`pair:${name}`], counted: [], maxEntries: 3 });
    for (const name of ['one', 'two', 'three']) await a!.reserve(attempt(0, only(name)));
    await b!.reserve(attempt(1, only('one')));
    await b!.reserve(attempt(2, only('four')));
    expect(await a!.size()).toBe(3);
    // 'two' was the least recently touched: it went; 'one' (touched again) stayed with its count.
    const one = await a!.reserve(attempt(3, only('one')));
    expect(one.ok && one.counters[0]!.failures).toBe(3);
    const two = await a!.reserve(attempt(4, only('two')));
    expect(two.ok && two.counters[0]!.failures).toBe(1);
    await b!.clear();
    expect(await a!.size()).toBe(0);
  });

  it('the throttle on two connections: locked on one, locked on the other; the right password gives its attempt back', async () => {
    const [a, b] = await backend.open(2);
    let now = 5_000;
    const clock = () => now;
    const one = createLoginThrottle({ store: a!, clock });
    const two = createLoginThrottle({ store: b!, clock });
    const right = await one.reserve('Dave', '10.0.0.1');
    if (!right.ok) throw new Error('not reserved');
    await right.succeeded();
    for (let i = 0; i < FREE; i++) {
      const wrong = await (i % 2 ? one : two).reserve('dave', '10.0.0.1');
      if (!wrong.ok) throw new Error('refused too early');
      expect(wrong.failed()).toEqual(i === FREE - 1 ? { locked: ['pair'], lockMs: 1000 } : { locked: [], lockMs: 0 });
    }
    expect(await one.reserve(' DAVE ', '10.0.0.1')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect((await two.reserve('dave', '10.0.0.2')).ok).toBe(true);
    now += 1000;
    expect((await two.reserve('dave', '10.0.0.1')).ok).toBe(true);
  });
});
