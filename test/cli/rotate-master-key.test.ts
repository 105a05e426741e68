import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKeyCheck } from '../../src/secrets/master-key.js';
import { seal, unseal } from '../../src/secrets/seal.js';
import { bearer, peerCertificate } from '../helpers/https-client.js';
import { createChain, leafFingerprint, type TestChain } from '../helpers/pki.js';
import { freePort, runCli, spawnServer } from '../helpers/spawn-server.js';
import { startTestServer } from '../helpers/start-server.js';

/** Every sealed blob and the check value, as bytes (read, never written, by the test). */
function sealedSnapshot(dataDir: string): Record<string, string> {
  const db = new Database(path.join(dataDir, 'hotcert.db'), { readonly: true });
  try {
    const rows = [
      ...(db.prepare("select 'certificate:' || version as k, key_sealed as v from certificate_versions").all() as { k: string; v: Buffer }[]),
      ...(db.prepare("select 'pending:' || id as k, key_sealed as v from pending_keys").all() as { k: string; v: Buffer }[]),
      ...(db.prepare("select 'webhook:' || id as k, secret_sealed as v from webhooks").all() as { k: string; v: Buffer }[]),
      ...(db.prepare("select 'setting:' || name as k, value as v from settings").all() as { k: string; v: Buffer }[]),
    ];
    return Object.fromEntries(rows.map((row) => [row.k, Buffer.from(row.v).toString('hex')]));
  } finally {
    db.close();
  }
}

const keyIn = (dataDir: string) => Buffer.from(readFileSync(path.join(dataDir, 'master.key'), 'utf8').trim(), 'base64');

describe('hotcert rotate-master-key on SQLite (real processes)', () => {
  let dataDir: string;
  let chain: TestChain;
  let oldKey: Buffer;
  let webhookId: string;
  const newKeyFile = () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'hotcert-newkey-')), 'new.key');
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    return file;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-rotate-'));
    chain = await createChain();
    // A database with every kind of sealed value: certificate keys, a pending CSR key, a webhook secret, ticket keys.
    const server = await startTestServer({ dataDir });
    const token = await server.adminToken();
    expect((await server.upload(chain.bundle, token)).status).toBe(201);
    const csr = await server.request('POST', '/v1/certificates/external/csr', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: JSON.stringify({ names: ['rotate.example'] }) });
    expect(csr.status).toBe(201);
    const hook = await server.request('POST', '/v1/settings/webhooks', {
      headers: { ...bearer(token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: 'https://127.0.0.1:9/hook' }),
    });
    expect(hook.status).toBe(201);
    webhookId = hook.json.webhooks[0].id as string;
    await server.close({ keepData: true });
    oldKey = keyIn(dataDir);
  }, 60_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses, changing nothing, when one value does not open with the current key, even after re-sealing others', async () => {
    // The webhook secret is re-sealed after every certificate key: those updates must be undone too.
    const db = new Database(path.join(dataDir, 'hotcert.db'));
    const original = db.prepare('select secret_sealed from webhooks where id = ?').get(webhookId) as { secret_sealed: Buffer };
    db.prepare('update webhooks set secret_sealed = ? where id = ?').run(seal(randomBytes(32), 'not ours', `webhook.secret:${webhookId}`), webhookId);
    db.close();
    const before = sealedSnapshot(dataDir);

    const refused = runCli(['rotate-master-key', '--new-key-file', newKeyFile(), '--data-dir', dataDir]);
    expect(refused.status).toBe(1);
    expect(refused.stderr.trim().split('\n')).toEqual([`hotcert: the secret of webhook ${webhookId} does not open with the current master key; nothing changed`]);
    expect(sealedSnapshot(dataDir)).toEqual(before);
    expect(keyIn(dataDir).equals(oldKey)).toBe(true);

    const repair = new Database(path.join(dataDir, 'hotcert.db'));
    repair.prepare('update webhooks set secret_sealed = ? where id = ?').run(original.secret_sealed, webhookId);
    repair.close();
  });

  it('refuses a new key file that does not hold a key, and the current key as the new one', () => {
    const bad = path.join(mkdtempSync(path.join(os.tmpdir(), 'hotcert-badkey-')), 'bad.key');
    writeFileSync(bad, 'not a key\n');
    const before = sealedSnapshot(dataDir);
    const wrong = runCli(['rotate-master-key', '--new-key-file', bad, '--data-dir', dataDir]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('must hold the base64 encoding of exactly 32 bytes');
    const same = runCli(['rotate-master-key', '--new-key-file', path.join(dataDir, 'master.key'), '--data-dir', dataDir]);
    expect(same.status).toBe(1);
    expect(same.stderr).toContain('the new master key is the current one');
    expect(sealedSnapshot(dataDir)).toEqual(before);
  });

  it('re-seals every value under the new key; a server with the new key serves the same certificate, one with the old key is refused', async () => {
    const file = newKeyFile();
    const newKey = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    const before = sealedSnapshot(dataDir);
    const rotated = runCli(['rotate-master-key', '--new-key-file', file, '--data-dir', dataDir, '--json']);
    expect(rotated.stderr).toBe('');
    expect(rotated.status).toBe(0);
    const answer = JSON.parse(rotated.stdout) as { resealed: number; master_key_file: string };
    expect(answer.master_key_file).toBe(path.join(dataDir, 'master.key'));
    expect(rotated.stdout).not.toContain(newKey.toString('base64'));
    expect(keyIn(dataDir).equals(newKey)).toBe(true);

    // Every sealed value changed and opens with the new key only; the check value is the new key's.
    const after = sealedSnapshot(dataDir);
    const sealedNames = Object.keys(before).filter((name) => !name.startsWith('setting:') || name === 'setting:tls.ticket_keys');
    expect(answer.resealed).toBe(sealedNames.length);
    for (const name of sealedNames) expect(after[name], name).not.toBe(before[name]);
    expect(after['setting:master_key_check']).toBe(masterKeyCheck(newKey).toString('hex'));
    const db = new Database(path.join(dataDir, 'hotcert.db'), { readonly: true });
    const secret = db.prepare('select secret_sealed from webhooks where id = ?').get(webhookId) as { secret_sealed: Buffer };
    db.close();
    expect(unseal(newKey, secret.secret_sealed, `webhook.secret:${webhookId}`)).toMatch(/./);
    expect(() => unseal(oldKey, secret.secret_sealed, `webhook.secret:${webhookId}`)).toThrow();

    // The old key is refused at boot: one line, exit 2, nothing served.
    const old = runCli(['serve', '--data-dir', dataDir], { MASTER_KEY: oldKey.toString('base64'), PORT: String(await freePort()), HOST: '127.0.0.1' });
    expect(old.status).toBe(2);
    expect(old.stderr.trim().split('\n')).toHaveLength(1);
    expect(old.stderr).toContain('is not the one the database');

    // The new key (now in DATA_DIR/master.key) boots and serves the same certificate, without a fallback.
    const server = await spawnServer({ DATA_DIR: dataDir });
    try {
      expect((await peerCertificate(server.port)).fingerprint).toBe(leafFingerprint(chain));
      expect(server.logs.some((entry) => String(entry.event ?? '').includes('fallback'))).toBe(false);
    } finally {
      await server.stop('SIGTERM');
    }
  });
});
