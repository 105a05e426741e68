import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PreconditionFailedError, type ActivationWrite } from '../../src/db/certificates-repo.js';
import { DatabaseUnavailableError } from '../../src/db/database-unavailable.js';
import { openDatabase } from '../../src/db/open-database.js';
import { CHANGES_CHANNEL } from '../../src/db/postgres/notify.js';
import { openPostgresBackend, postgresMigrationsFolder, type PostgresBackend } from '../../src/db/postgres/open-postgres.js';
import { TICKET_KEYS_SETTING } from '../../src/db/settings-repo.js';
import { createSqliteStores, type Stores } from '../../src/db/stores.js';
import { createChain, type TestChain } from '../helpers/pki.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';

/**
 * One list of behaviours, run against both backends: each test gets a fresh database and two separate
 * connections to it (`a` and `b`, as two processes or two instances would have).
 */
interface Pair {
  a: Stores;
  b: Stores;
  /** PostgreSQL only: the URL of this test's database. */
  url?: string;
}

interface Backend {
  name: 'sqlite' | 'postgres';
  open(): Promise<Pair>;
}

const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
let server: TestPostgres | undefined;
let chain: TestChain;

beforeAll(async () => {
  [server, chain] = await Promise.all([startPostgres(), createChain()]);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await server?.close();
});

const sqlite: Backend = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-contract-'));
    const file = path.join(dir, 'hotcert.db');
    const first = openDatabase(file);
    const second = openDatabase(file);
    cleanups.push(() => {
      first.$client.close();
      second.$client.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return { a: createSqliteStores(first, Date.now), b: createSqliteStores(second, Date.now) };
  },
};

async function openPg(url: string): Promise<PostgresBackend> {
  const backend = openPostgresBackend(url, { clock: Date.now, logger });
  cleanups.push(() => backend.close());
  await backend.ready();
  return backend;
}

const postgres: Backend = {
  name: 'postgres',
  async open() {
    const url = await server!.createDatabase();
    const [first, second] = [await openPg(url), await openPg(url)];
    return { a: first.stores, b: second.stores, url };
  },
};

let fingerprints = 0;
function newVersion(by = 'alice'): ActivationWrite {
  return {
    target: {
      insert: {
        source: 'upload',
        certPem: chain.leaf.certPem,
        chainPem: chain.intermediates.map((c) => c.certPem).join(''),
        keySealed: randomBytes(48),
        fingerprint: `fp-${++fingerprints}-${randomBytes(4).toString('hex')}`,
        summaryJson: '{}',
        warningsJson: '[]',
        createdBy: by,
      },
    },
    audit: { actor: by, action: 'certificate.upload' },
    fallbackReason: null,
    now: Date.now(),
  };
}

const fingerprintOf = (write: ActivationWrite) => ('insert' in write.target ? write.target.insert.fingerprint : '');

async function addUser(stores: Stores, username: string) {
  const user = await stores.users.insert({ username, passwordHash: 'hash-' + username, role: 'ROLE_USER', mustChangePassword: false, now: 1000 });
  if (!user) throw new Error('user not created');
  return user;
}

describe.each([sqlite, postgres])('stores on $name', (backend) => {
  describe('certificates', () => {
    it('activates a new version with its generation, audit row and ticket keys, and reads it back', async () => {
      const { a, b } = await backend.open();
      const write = { ...newVersion(), ticketKeysSealed: Buffer.from('sealed ticket keys') };
      const written = await a.certificates.activate(write);
      expect(written).toMatchObject({ version: 1, generation: 1, createdAt: write.now });
      // The other connection sees it: nothing is cached per connection.
      const active = await b.certificates.active();
      expect(active?.fingerprint).toBe(fingerprintOf(write));
      expect(Buffer.isBuffer(active?.keySealed)).toBe(true);
      expect(active?.keySealed.equals((write.target as { insert: { keySealed: Buffer } }).insert.keySealed)).toBe(true);
      expect(await b.certificates.generation()).toBe(1);
      expect((await b.certificates.state()).activeVersion).toBe(1);
      expect((await b.settings.get(TICKET_KEYS_SETTING))?.value.toString()).toBe('sealed ticket keys');
      const [audit] = await b.audit.recent(1);
      expect(audit).toMatchObject({ actor: 'alice', action: 'certificate.upload', details: { version: 1, source: 'upload' } });
    });

    it('If-Match: a stale fingerprint changes nothing; the current one activates', async () => {
      const { a, b } = await backend.open();
      const first = newVersion();
      await a.certificates.activate(first);
      const auditBefore = (await a.audit.recent(100)).length;
      await expect(b.certificates.activate({ ...newVersion(), expectedFingerprint: 'not-the-active-one' })).rejects.toBeInstanceOf(PreconditionFailedError);
      expect(await a.certificates.generation()).toBe(1);
      expect(await a.certificates.history()).toHaveLength(1);
      expect(await a.audit.recent(100)).toHaveLength(auditBefore);
      const second = await b.certificates.activate({ ...newVersion(), expectedFingerprint: fingerprintOf(first) });
      expect(second).toMatchObject({ version: 2, generation: 2 });
    });

    it('re-activates a stored version (rollback) keeping its creation time; an unknown version changes nothing', async () => {
      const { a, b } = await backend.open();
      const first = newVersion();
      await a.certificates.activate(first);
      await a.certificates.activate(newVersion());
      const back = await b.certificates.activate({ target: { existing: 1 }, audit: { actor: 'bob', action: 'certificate.rollback' }, fallbackReason: null, now: first.now + 5000 });
      expect(back).toEqual({ version: 1, generation: 3, createdAt: first.now });
      await expect(b.certificates.activate({ target: { existing: 99 }, audit: { actor: 'bob', action: 'certificate.rollback' }, fallbackReason: null, now: Date.now() })).rejects.toThrow(
        'version 99 does not exist',
      );
      expect(await a.certificates.state()).toMatchObject({ activeVersion: 1, generation: 3 });
      expect((await a.certificates.history()).map((row) => row.version)).toEqual([2, 1]);
    });

    it('concurrent activations from two connections get distinct versions and generations', async () => {
      const { a, b } = await backend.open();
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? a : b).certificates.activate(newVersion())));
      expect(new Set(results.map((r) => r.version)).size).toBe(16);
      expect(results.map((r) => r.generation).sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      expect(await a.certificates.generation()).toBe(16);
      expect(await b.certificates.history()).toHaveLength(16);
    });
  });

  describe('settings', () => {
    it('replaceIfUnchanged: of two writers that read the same value, exactly one wins', async () => {
      const { a, b } = await backend.open();
      expect(await a.settings.replaceIfUnchanged('marker', Buffer.from('v0'), undefined, 1000)).toBe(true);
      expect(await b.settings.replaceIfUnchanged('marker', Buffer.from('other'), undefined, 1001)).toBe(false);
      const seen = (await a.settings.get('marker'))!;
      expect(seen).toEqual({ value: Buffer.from('v0'), updatedAt: 1000 });
      const outcomes = await Promise.all([
        a.settings.replaceIfUnchanged('marker', Buffer.from('from a'), seen.updatedAt, 2000),
        b.settings.replaceIfUnchanged('marker', Buffer.from('from b'), seen.updatedAt, 2001),
      ]);
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      const stored = (await b.settings.get('marker'))!;
      expect(stored.value.toString()).toBe(outcomes[0] ? 'from a' : 'from b');
    });

    it('putIfAbsent: the first value stored wins a race and both writers get it back', async () => {
      const { a, b } = await backend.open();
      const [fromA, fromB] = await Promise.all([a.settings.putIfAbsent('check', Buffer.from('A')), b.settings.putIfAbsent('check', Buffer.from('B'))]);
      expect(fromA.equals(fromB)).toBe(true);
      expect((await a.settings.get('check'))!.value.equals(fromA)).toBe(true);
      await a.settings.set('check', Buffer.from('replaced'));
      expect((await b.settings.get('check'))!.value.toString()).toBe('replaced');
    });
  });

  describe('users and tokens', () => {
    it('refuses a duplicate user name, also from another connection', async () => {
      const { a, b } = await backend.open();
      await addUser(a, 'carol');
      expect(await b.users.insert({ username: 'carol', passwordHash: 'x', role: 'ROLE_ADMIN', mustChangePassword: true, now: 1 })).toBeUndefined();
      expect(await b.users.count()).toBe(1);
      expect(await b.users.names()).toEqual(['carol']);
      expect((await b.users.findByName('carol'))?.mustChangePassword).toBe(false);
    });

    it('setPassword revokes every token of the user except the kept one; a token works on every connection', async () => {
      const { a, b } = await backend.open();
      const user = await addUser(a, 'dave');
      const other = await addUser(a, 'erin');
      for (const hash of ['t1', 't2', 't3']) await a.tokens.insert({ tokenHash: hash, userId: user.id, now: 1000, expiresAt: 10_000 });
      await a.tokens.insert({ tokenHash: 'erin-token', userId: other.id, now: 1000, expiresAt: 10_000 });
      expect((await b.tokens.findUser('t1', 2000))?.username).toBe('dave');
      expect(await b.tokens.findUser('t1', 10_000)).toBeUndefined();
      await b.users.setPassword(user.id, 'new-hash', true, 3000, 't2');
      expect(await a.tokens.findUser('t1', 2000)).toBeUndefined();
      expect(await a.tokens.findUser('t3', 2000)).toBeUndefined();
      expect(await a.tokens.findUser('t2', 2000)).toMatchObject({ username: 'dave', passwordHash: 'new-hash', mustChangePassword: true });
      expect((await a.tokens.findUser('erin-token', 2000))?.username).toBe('erin');
      await a.tokens.revoke('t2');
      expect(await b.tokens.findUser('t2', 2000)).toBeUndefined();
      expect(await b.users.delete(other.id)).toBe(true);
      expect(await b.users.delete(other.id)).toBe(false);
      expect(await a.tokens.findUser('erin-token', 2000)).toBeUndefined();
    });
  });

  describe('webhook deliveries', () => {
    async function webhooksWithEvents(stores: Stores, hooks: number, events: number) {
      for (let i = 0; i < hooks; i++) {
        await stores.webhooks.insert(
          { id: `wh-${i}`, url: `https://127.0.0.1:1/${i}`, events: ['certificate.activated'], secretSealed: randomBytes(16), enabled: true, createdAt: i, createdBy: 'alice', updatedAt: i },
          { actor: 'alice', action: 'webhook.create' },
        );
      }
      let added = 0;
      for (let i = 0; i < events; i++) added += await stores.deliveries.enqueue({ eventId: `ev-${i}`, type: 'certificate.activated', payload: `{"n":${i}}`, dedupeKey: null });
      return added;
    }

    it('two connections claiming at once never claim the same delivery', async () => {
      const { a, b } = await backend.open();
      expect(await webhooksWithEvents(a, 4, 5)).toBe(20);
      const owners = ['owner-a', 'owner-b', 'owner-c', 'owner-d', 'owner-e', 'owner-f'];
      const claims = await Promise.all(owners.map((owner, i) => (i % 2 === 0 ? a : b).deliveries.claimDue(owner, 20, 60_000)));
      const ids = claims.flat().map((claim) => claim.id);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
      expect(claims.flat().every((claim) => claim.attempts === 1 && Buffer.isBuffer(claim.secretSealed))).toBe(true);
      // Nothing left to claim while the leases run.
      expect(await b.deliveries.claimDue('owner-b', 20, 60_000)).toEqual([]);
      const holder = claims.findIndex((claimed) => claimed.length > 0);
      const [mine, owner] = [claims[holder]![0]!, owners[holder]!];
      expect(await b.deliveries.complete(mine.id, 'someone-else', { status: 'delivered', statusCode: 200, error: null, nextAttemptAt: 0 })).toBe(false);
      expect(await b.deliveries.complete(mine.id, owner, { status: 'delivered', statusCode: 200, error: null, nextAttemptAt: 0 })).toBe(true);
      const record = (await a.deliveries.recent(mine.webhookId, 10)).find((row) => row.deliveryId === mine.deliveryId);
      expect(record).toMatchObject({ status: 'delivered', lastStatusCode: 200, attempts: 1 });
    });

    it('a released delivery is due again with its attempt given back; a dedupe key records an event once per webhook', async () => {
      const { a, b } = await backend.open();
      await webhooksWithEvents(a, 1, 0);
      expect(await a.deliveries.enqueue({ eventId: 'e1', type: 'certificate.activated', payload: '{}', dedupeKey: 'expiry:30' })).toBe(1);
      expect(await b.deliveries.enqueue({ eventId: 'e2', type: 'certificate.activated', payload: '{}', dedupeKey: 'expiry:30' })).toBe(0);
      expect(await b.deliveries.enqueue({ eventId: 'e3', type: 'certificate.expired', payload: '{}', dedupeKey: null })).toBe(0);
      const [claimed] = await a.deliveries.claimDue('owner-a', 5, 60_000);
      await a.deliveries.release(claimed!.id, 'owner-a');
      const [again] = await b.deliveries.claimDue('owner-b', 5, 60_000);
      expect(again).toMatchObject({ id: claimed!.id, attempts: 1 });
    });
  });

  it('renewal lease: of two connections asking at once exactly one holds it, until it runs out or is released', async () => {
    const { a, b } = await backend.open();
    const now = Date.now();
    const taken = await Promise.all([a.acmeRenewal.acquire('x', now, 60_000), b.acmeRenewal.acquire('y', now, 60_000)]);
    expect(taken.filter(Boolean)).toHaveLength(1);
    const [holder, other, otherStores] = taken[0] ? ['x', 'y', b] : ['y', 'x', a];
    expect((await a.acmeRenewal.state())?.leaseHolder).toBe(holder);
    expect(await otherStores.acmeRenewal.acquire(other, now + 1000, 60_000)).toBe(false);
    // After the lease ran out, someone else may take it.
    expect(await otherStores.acmeRenewal.acquire(other, now + 60_000, 60_000)).toBe(true);
    await otherStores.acmeRenewal.release(other, { failures: 0, lastSuccessAt: now });
    expect(await a.acmeRenewal.state()).toMatchObject({ leaseHolder: null, leaseExpiresAt: null, lastSuccessAt: now });
  });

  it('pending keys: found by SPKI until they expire, discarded once, purged when expired', async () => {
    const { a, b } = await backend.open();
    const row = { spkiSha256: 'spki-1', keyType: 'ec256', keySealed: randomBytes(32), namesJson: '["a.example"]', csrPem: 'csr', createdAt: 1000, createdBy: 'alice', expiresAt: 5000 };
    const inserted = await a.pendingKeys.insert(row, { actor: 'alice', action: 'csr.create' });
    await a.pendingKeys.insert({ ...row, spkiSha256: 'spki-2', expiresAt: 2000 }, { actor: 'alice', action: 'csr.create' });
    expect((await b.pendingKeys.findBySpki(['nope', 'spki-1'], 3000))?.id).toBe(inserted.id);
    expect(await b.pendingKeys.findBySpki(['spki-1'], 5000)).toBeUndefined();
    expect(await b.pendingKeys.findBySpki([], 3000)).toBeUndefined();
    expect((await b.pendingKeys.list(1500)).map((key) => key.spkiSha256)).toEqual(['spki-1', 'spki-2']);
    expect(await b.pendingKeys.purgeExpired(3000)).toBe(1);
    expect(await b.pendingKeys.discard(inserted.id, { actor: 'alice', action: 'csr.discard' })).toBe(true);
    expect(await a.pendingKeys.discard(inserted.id, { actor: 'alice', action: 'csr.discard' })).toBe(false);
    expect(await a.pendingKeys.list(0)).toEqual([]);
    expect((await a.audit.recent(1))[0]).toMatchObject({ action: 'csr.discard', details: { pending_key_id: inserted.id } });
  });

  it('webhook CA: every change moves its own generation, never the certificate one', async () => {
    const { a, b } = await backend.open();
    expect(await b.webhookCa.generation()).toBe(0);
    expect(await a.webhookCa.set('PEM', ['fp'], { actor: 'alice', action: 'webhook_ca.set' })).toBe(1);
    expect(await b.webhookCa.get()).toBe('PEM');
    expect(await b.webhookCa.clear({ actor: 'alice', action: 'webhook_ca.clear' })).toBe(2);
    expect(await a.webhookCa.get()).toBeNull();
    expect(await a.webhookCa.generation()).toBe(2);
    expect(await a.certificates.generation()).toBe(0);
  });
});

describe('PostgreSQL only', () => {
  async function listen(url: string) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    cleanups.push(() => client.end());
    const received: string[] = [];
    client.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL) received.push(message.payload ?? '');
    });
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    return received;
  }

  it('NOTIFY: sent when an activation commits, never for an If-Match failure; webhook CA and user changes notify their kind', async () => {
    const { a, b, url } = await postgres.open();
    const received = await listen(url!);
    const first = newVersion();
    await a.certificates.activate(first);
    await waitFor(async () => received.length, (n) => n >= 1, 10_000);
    expect(received).toEqual(['certificate']);
    await expect(b.certificates.activate({ ...newVersion(), expectedFingerprint: 'stale' })).rejects.toBeInstanceOf(PreconditionFailedError);
    // Notifications arrive in commit order: once the marker is here, a notification of the failed activation would be too.
    await b.webhookCa.set('PEM', ['fp'], { actor: 'alice', action: 'webhook_ca.set' });
    await waitFor(async () => received.length, (n) => n >= 2, 10_000);
    expect(received).toEqual(['certificate', 'webhook_ca']);
    const user = await addUser(b, 'frank');
    await a.tokens.insert({ tokenHash: 'tok', userId: user.id, now: 1, expiresAt: 10 });
    await a.tokens.revoke('tok');
    await a.users.setPassword(user.id, 'h', false, 2);
    await a.users.delete(user.id);
    await waitFor(async () => received.length, (n) => n >= 6, 10_000);
    expect(received.slice(2)).toEqual(['users', 'users', 'users', 'users']);
  });

  it('three ready() at once on a fresh database all succeed and migrate once', async () => {
    const url = await server!.createDatabase();
    const backends = [1, 2, 3].map(() => openPostgresBackend(url, { clock: Date.now, logger }));
    for (const backend of backends) cleanups.push(() => backend.close());
    await Promise.all(backends.map((backend) => backend.ready()));
    const journal = JSON.parse(readFileSync(path.join(postgresMigrationsFolder(), 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
    const applied = await backends[0]!.pool.query('SELECT hash FROM drizzle.__drizzle_migrations');
    expect(applied.rowCount).toBe(journal.entries.length);
    expect(new Set(applied.rows.map((row: { hash: string }) => row.hash)).size).toBe(journal.entries.length);
    const states = await backends[1]!.pool.query('SELECT count(*)::int AS n FROM service_state');
    expect(states.rows[0]).toEqual({ n: 1 });
    // A later start finds everything applied.
    await backends[2]!.ready();
    expect((await backends[0]!.pool.query('SELECT hash FROM drizzle.__drizzle_migrations')).rowCount).toBe(journal.entries.length);
  });

  it('an unreachable server: construction succeeds, ready() and every store call throw DatabaseUnavailableError without the driver text', async () => {
    const password = 'secret-' + randomBytes(6).toString('hex');
    const closedPort = server!.port === 1 ? 2 : 1;
    const backend = openPostgresBackend(`postgres://hotcert:${password}@127.0.0.1:${closedPort}/nowhere`, { clock: Date.now, logger, connectionTimeoutMs: 2000 });
    cleanups.push(() => backend.close());
    await expect(backend.ready()).rejects.toBeInstanceOf(DatabaseUnavailableError);
    for (const call of [() => backend.stores.certificates.generation(), () => backend.stores.settings.set('x', Buffer.from('y')), () => backend.stores.certificates.activate(newVersion())]) {
      const error = await call().then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect((error as Error).message).toBe('the database is unreachable');
      expect(String((error as Error).stack)).not.toContain(password);
    }
  });

  it('the server going away: store calls throw DatabaseUnavailableError, nothing is half-written, and they work again once it is back', async () => {
    const { a, b } = await postgres.open();
    const first = newVersion();
    await a.certificates.activate(first);
    await server!.stop();
    try {
      for (const call of [() => a.certificates.activate(newVersion()), () => b.users.insert({ username: 'henry', passwordHash: 'h', role: 'ROLE_USER', mustChangePassword: false, now: 1 }), () => b.certificates.generation()]) {
        const error = await call().then(
          () => undefined,
          (failure: unknown) => failure,
        );
        expect(error).toBeInstanceOf(DatabaseUnavailableError);
      }
    } finally {
      await server!.start();
    }
    // The pools replace their dropped connections by themselves.
    expect(await b.certificates.state()).toMatchObject({ activeVersion: 1, generation: 1 });
    expect(await b.users.count()).toBe(0);
    expect(await a.certificates.activate({ ...newVersion(), expectedFingerprint: fingerprintOf(first) })).toMatchObject({ version: 2, generation: 2 });
  });

  it('a failed query never carries its parameters out of the store', async () => {
    const { a } = await postgres.open();
    const user = await addUser(a, 'grace');
    const tokenHash = createHash('sha256').update(randomBytes(8)).digest('hex');
    await a.tokens.insert({ tokenHash, userId: user.id, now: 1, expiresAt: 10 });
    const error = await a.tokens.insert({ tokenHash, userId: user.id, now: 1, expiresAt: 10 }).then(
      () => undefined,
      (failure: unknown) => failure as Error,
    );
    expect(error?.name).toBe('PostgresQueryError');
    expect(error?.message).toContain('23505');
    expect(`${error?.message} ${error?.stack} ${JSON.stringify(error)}`).not.toContain(tokenHash);
  });
});
