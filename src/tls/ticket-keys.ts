import type { SettingsStore } from '../db/ports.js';
import { randomBytes } from 'node:crypto';
import { TICKET_KEYS_SETTING } from '../db/settings-repo.js';
import { seal, unseal } from '../secrets/seal.js';

export interface FreshTicketKeys {
  keys: Buffer;
  /** What the database keeps: sealed under the master key, bound to the setting's name. */
  sealed: Buffer;
}

/**
 * TLS session-ticket keys (TLS 1.2 tickets and TLS 1.3 resumption PSKs): random, stored sealed in
 * `settings` so every process on the data directory issues and accepts the same tickets, and
 * replaced with every certificate change, so no session outlives the certificate it was made under.
 */
export function createTicketKeyStore(settings: SettingsStore, masterKey: Buffer) {
  function unsealed(sealed: Buffer): Buffer | undefined {
    try {
      const keys = Buffer.from(unseal(masterKey, sealed, TICKET_KEYS_SETTING), 'base64');
      return keys.length === 48 ? keys : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    /** New random keys, to be written in the same transaction as the activation they belong to. */
    fresh(): FreshTicketKeys {
      const keys = randomBytes(48);
      return { keys, sealed: seal(masterKey, keys.toString('base64'), TICKET_KEYS_SETTING) };
    },
    /** The shared keys, or undefined when none are stored or they cannot be unsealed. */
    async read(): Promise<Buffer | undefined> {
      const row = await settings.get(TICKET_KEYS_SETTING);
      return row && unsealed(row.value);
    },
    /**
     * The shared keys, first replaced with new ones when they are older than `maxAgeMs`; when
     * several processes try at once, one replaces them and the others read its keys.
     */
    async rotateIfOlder(maxAgeMs: number, now: number): Promise<Buffer | undefined> {
      const row = await settings.get(TICKET_KEYS_SETTING);
      const current = row && unsealed(row.value);
      if (row && current && now - row.updatedAt < maxAgeMs) return current;
      await settings.replaceIfUnchanged(TICKET_KEYS_SETTING, this.fresh().sealed, row?.updatedAt, now);
      return this.read();
    },
    /** The shared keys; stores new ones when there are none yet (a database from before them). */
    async readOrCreate(): Promise<Buffer> {
      const stored = await this.read();
      if (stored) return stored;
      const { keys, sealed } = this.fresh();
      // Processes booting together: the first insert wins and everyone reads it back.
      if ((await settings.get(TICKET_KEYS_SETTING)) === undefined) await settings.putIfAbsent(TICKET_KEYS_SETTING, sealed);
      else await settings.set(TICKET_KEYS_SETTING, sealed);
      return (await this.read()) ?? keys;
    },
  };
}

export type TicketKeyStore = ReturnType<typeof createTicketKeyStore>;
