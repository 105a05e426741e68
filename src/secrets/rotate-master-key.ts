import { existsSync } from 'node:fs';
import type { LastKnownGoodFile } from '../certificates/last-known-good.js';
import { CheckValueChangedError, type SealedValue, type SealedValueStore } from '../db/ports.js';
import { DomainError } from '../domain-errors.js';
import { MASTER_KEY_CHECK_SETTING, masterKeyCheck } from './master-key.js';
import { sealContexts, SEALED_SETTINGS } from './seal-contexts.js';
import { seal, unseal, UnsealError } from './seal.js';

function contextOf(value: SealedValue): string {
  switch (value.kind) {
    case 'certificate':
      return sealContexts.certificate(value.fingerprint);
    case 'pending-key':
      return sealContexts.pendingKey(value.spkiSha256);
    case 'webhook-secret':
      return sealContexts.webhookSecret(value.id);
    case 'acme-challenge':
      return sealContexts.acmeChallenge(value.token);
    case 'setting':
      return SEALED_SETTINGS[value.name]!;
  }
}

/** Names a value for the refusal, never its content. */
function describe(value: SealedValue): string {
  switch (value.kind) {
    case 'certificate':
      return `the key of certificate version ${value.version}`;
    case 'pending-key':
      return `pending key ${value.id}`;
    case 'webhook-secret':
      return `the secret of webhook ${value.id}`;
    case 'acme-challenge':
      return `the key of ACME challenge ${value.token}`;
    case 'setting':
      return `the setting ${value.name}`;
  }
}

/**
 * Re-seals every sealed value of the database under `newKey`, and records the new key's check value, in
 * one transaction. Refused with nothing changed when a value does not open with `oldKey` (the key the
 * database's check value was verified against) or when another rotation got there first.
 */
export async function rotateMasterKey(store: SealedValueStore, oldKey: Buffer, newKey: Buffer, now: number): Promise<{ resealed: number }> {
  if (newKey.equals(oldKey)) throw new DomainError('invalid-input', 'the new master key is the current one; nothing changed');
  try {
    const resealed = await store.resealAll({
      settingNames: Object.keys(SEALED_SETTINGS),
      checkSetting: MASTER_KEY_CHECK_SETTING,
      expectedCheck: masterKeyCheck(oldKey),
      check: masterKeyCheck(newKey),
      now,
      reseal(value) {
        const context = contextOf(value);
        let plaintext: string;
        try {
          plaintext = unseal(oldKey, value.sealed, context);
        } catch (error) {
          if (error instanceof UnsealError) throw new DomainError('conflict', `${describe(value)} does not open with the current master key; nothing changed`);
          throw error;
        }
        return seal(newKey, plaintext, context);
      },
    });
    return { resealed };
  } catch (error) {
    if (error instanceof CheckValueChangedError) throw new DomainError('conflict', 'the master key was changed meanwhile (another rotation?); nothing changed');
    throw error;
  }
}

/**
 * This instance's last-known-good bundle (DATA_DIR/last-known-good.json, PostgreSQL only) re-sealed under
 * the new key, so the instance can still boot from it while the database is away. Other instances' files
 * are on their own hosts: each is rewritten when its instance next serves from the database.
 */
export async function resealLastKnownGood(file: LastKnownGoodFile, oldKey: Buffer, newKey: Buffer): Promise<'resealed' | 'absent' | 'unreadable'> {
  if (!existsSync(file.file)) return 'absent';
  const loaded = file.load(oldKey);
  if ('problem' in loaded) return 'unreadable';
  const { row } = loaded.entry;
  const context = sealContexts.certificate(row.fingerprint);
  await file.remember({ ...loaded.entry, row: { ...row, keySealed: seal(newKey, unseal(oldKey, row.keySealed, context), context) } });
  return 'resealed';
}
