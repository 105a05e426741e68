import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open-database.js';
import { openPostgresBackend } from '../../src/db/postgres/open-postgres.js';
import { createSqliteStores, type Stores } from '../../src/db/stores.js';
import { DomainError } from '../../src/domain-errors.js';
import { MASTER_KEY_CHECK_SETTING, masterKeyCheck } from '../../src/secrets/master-key.js';
import { resealLastKnownGood, rotateMasterKey } from '../../src/secrets/rotate-master-key.js';
import { createLastKnownGood } from '../../src/certificates/last-known-good.js';
import { createChain, leafFingerprint } from '../helpers/pki.js';
import { sealContexts } from '../../src/secrets/seal-contexts.js';
import { seal, unseal } from '../../src/secrets/seal.js';
import { TICKET_KEYS_SETTING } from '../../src/db/settings-repo.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

/** rotateMasterKey through the stores of both backends, each test on a fresh database with two connections. */
interface Backend {
  name: 'sqlite' | 'postgres';
  open(): Promise<[Stores, Stores]>;
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
  async open() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-rotate-store-'));
    const dbs = [openDatabase(path.join(dir, 'hotcert.db')), openDatabase(path.join(dir, 'hotcert.db'))];
    cleanups.push(() => {
      for (const db of dbs) db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return [createSqliteStores(dbs[0]!, Date.now), createSqliteStores(dbs[1]!, Date.now)];
  },
};

const postgres: Backend = {
  name: 'postgres',
  async open() {
    const url = await server!.createDatabase();
    const pair: Stores[] = [];
    for (let i = 0; i < 2; i++) {
      const backend = openPostgresBackend(url, { clock: Date.now, logger });
      cleanups.push(() => backend.close());
      await backend.ready();
      pair.push(backend.stores);
    }
    return [pair[0]!, pair[1]!];
  },
};

/** What the test sealed, by where it lives and under which context, to be opened again afterwards. */
interface Sealed {
  read(stores: Stores): Promise<Buffer>;
  context: string;
  plaintext: string;
}

/** A database with one value of every sealed kind, all under `key`, and its check value. */
async function populate(stores: Stores, key: Buffer): Promise<Sealed[]> {
  const now = Date.now();
  await stores.settings.putIfAbsent(MASTER_KEY_CHECK_SETTING, masterKeyCheck(key), now);
  const fingerprint = randomBytes(32).toString('hex');
  await stores.certificates.activate({
    target: {
      insert: { source: 'upload', certPem: 'cert', chainPem: '', keySealed: seal(key, 'certificate key', fingerprint), fingerprint, summaryJson: '{}', warningsJson: '[]', createdBy: 'test' },
    },
    audit: { actor: 'test', action: 'certificate.upload' },
    fallbackReason: null,
    now,
  });
  const spki = randomBytes(32).toString('hex');
  await stores.pendingKeys.insert(
    { spkiSha256: spki, keyType: 'ec-p256', keySealed: seal(key, 'pending key', sealContexts.pendingKey(spki)), namesJson: '[]', csrPem: 'csr', createdAt: now, createdBy: 'test', expiresAt: now + 3_600_000 },
    { actor: 'test', action: 'certificate.csr_created' },
  );
  await stores.webhooks.insert(
    { id: 'wh1', url: 'https://127.0.0.1:9/', events: ['certificate.activated'], secretSealed: seal(key, 'webhook secret', sealContexts.webhookSecret('wh1')), enabled: true, createdAt: now, createdBy: 'test', updatedAt: now },
    { actor: 'test', action: 'webhook.created' },
  );
  await stores.acmeChallenges.put({
    token: 'tok1', type: 'tls-alpn-01', domain: 'a.example', keyAuthorization: 'ka', certPem: 'cert', keySealed: seal(key, 'challenge key', sealContexts.acmeChallenge('tok1')), createdAt: now, expiresAt: now + 60_000,
  });
  await stores.settings.set(TICKET_KEYS_SETTING, seal(key, 'ticket keys', sealContexts.ticketKeys));
  await stores.acmeAccounts.putAccountIfAbsent(seal(key, '{"account":1}', sealContexts.acmeAccount));
  await stores.acmeAccounts.putConfig(seal(key, '{"config":1}', sealContexts.acmeConfig));
  return [
    { read: async (s) => (await s.certificates.active())!.keySealed, context: fingerprint, plaintext: 'certificate key' },
    { read: async (s) => (await s.pendingKeys.list(now))[0]!.keySealed, context: sealContexts.pendingKey(spki), plaintext: 'pending key' },
    { read: async (s) => (await s.webhooks.get('wh1'))!.secretSealed, context: sealContexts.webhookSecret('wh1'), plaintext: 'webhook secret' },
    { read: async (s) => (await s.acmeChallenges.tlsAlpnByDomain('a.example', now))!.keySealed!, context: sealContexts.acmeChallenge('tok1'), plaintext: 'challenge key' },
    { read: async (s) => (await s.settings.get(TICKET_KEYS_SETTING))!.value, context: sealContexts.ticketKeys, plaintext: 'ticket keys' },
    { read: async (s) => (await s.acmeAccounts.account())!, context: sealContexts.acmeAccount, plaintext: '{"account":1}' },
    { read: async (s) => (await s.acmeAccounts.storedConfig())!, context: sealContexts.acmeConfig, plaintext: '{"config":1}' },
  ];
}

const snapshot = async (stores: Stores, values: Sealed[]) => [
  ...(await Promise.all(values.map(async (value) => (await value.read(stores)).toString('hex')))),
  (await stores.settings.get(MASTER_KEY_CHECK_SETTING))!.value.toString('hex'),
];

describe.each([sqlite, postgres])('rotateMasterKey on $name', (backend) => {
  it('re-seals every kind of sealed value and the check value; the other connection reads them with the new key only', async () => {
    const [a, b] = await backend.open();
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const values = await populate(a, oldKey);
    expect(await rotateMasterKey(a.sealedValues, oldKey, newKey, Date.now())).toEqual({ resealed: values.length });
    for (const value of values) {
      const sealed = await value.read(b);
      expect(unseal(newKey, sealed, value.context)).toBe(value.plaintext);
      expect(() => unseal(oldKey, sealed, value.context)).toThrow();
    }
    expect((await b.settings.get(MASTER_KEY_CHECK_SETTING))!.value.equals(masterKeyCheck(newKey))).toBe(true);
  });

  it('a value that does not open with the old key, re-sealed last, undoes everything re-sealed before it', async () => {
    const [a, b] = await backend.open();
    const oldKey = randomBytes(32);
    const values = await populate(a, oldKey);
    // Settings come after every certificate, pending key, webhook and challenge.
    await a.acmeAccounts.putConfig(seal(randomBytes(32), '{"config":1}', sealContexts.acmeConfig));
    const before = await snapshot(b, values);
    const refused = rotateMasterKey(a.sealedValues, oldKey, randomBytes(32), Date.now());
    await expect(refused).rejects.toThrow(DomainError);
    await expect(refused).rejects.toThrow('the setting acme.config does not open with the current master key; nothing changed');
    expect(await snapshot(b, values)).toEqual(before);
  });

  it('of two rotations at once on two connections, one wins and the other changes nothing', async () => {
    const [a, b] = await backend.open();
    const oldKey = randomBytes(32);
    const keys = [randomBytes(32), randomBytes(32)];
    const values = await populate(a, oldKey);
    const outcomes = await Promise.allSettled([rotateMasterKey(a.sealedValues, oldKey, keys[0]!, Date.now()), rotateMasterKey(b.sealedValues, oldKey, keys[1]!, Date.now())]);
    const won = outcomes.findIndex((outcome) => outcome.status === 'fulfilled');
    expect(won).toBeGreaterThanOrEqual(0);
    const lost = outcomes[1 - won]!;
    expect(lost.status).toBe('rejected');
    expect(String((lost as PromiseRejectedResult).reason)).toContain('changed meanwhile');
    for (const value of values) expect(unseal(keys[won]!, await value.read(a), value.context)).toBe(value.plaintext);
  });
});

describe("this instance's last-known-good file", () => {
  it('is re-sealed under the new key and still loads as a servable identity; absent and foreign files are reported, not touched', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-rotate-lkg-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const chain = await createChain();
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const file = createLastKnownGood({ dataDir, logger });
    expect(await resealLastKnownGood(file, oldKey, newKey)).toBe('absent');
    const fingerprint = leafFingerprint(chain);
    const row = {
      version: 3, source: 'upload' as const, certPem: chain.leaf.certPem, chainPem: JSON.stringify(chain.intermediates.map((c) => c.certPem)),
      keySealed: seal(oldKey, chain.leaf.keyPem, fingerprint), fingerprint, summaryJson: '{}', warningsJson: '[]', createdAt: 1, createdBy: 'test',
    };
    await file.remember({ row, generation: 7, fallbackReason: null });
    expect(await resealLastKnownGood(file, oldKey, newKey)).toBe('resealed');
    const loaded = createLastKnownGood({ dataDir, logger }).load(newKey);
    expect('entry' in loaded && [loaded.entry.row.version, loaded.entry.generation]).toEqual([3, 7]);
    expect('problem' in createLastKnownGood({ dataDir, logger }).load(oldKey)).toBe(true);
    const bytes = readFileSync(file.file);
    expect(await resealLastKnownGood(file, oldKey, randomBytes(32))).toBe('unreadable');
    expect(readFileSync(file.file).equals(bytes)).toBe(true);
  });
});
