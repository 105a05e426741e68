import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

export class MasterKeyError extends Error {
  override name = 'MasterKeyError';
}

/** The name under which the check value lives in the `settings` table. */
export const MASTER_KEY_CHECK_SETTING = 'master_key_check';

/**
 * What the database remembers of the master key: an HMAC of a fixed label. It tells a process whether
 * its key is the one the stored private keys are sealed with, and reveals nothing about the key.
 */
export function masterKeyCheck(key: Buffer): Buffer {
  return createHmac('sha256', key).update('hotcert master-key check v1').digest();
}

export function masterKeyMatches(key: Buffer, check: Buffer): boolean {
  const mine = masterKeyCheck(key);
  return check.length === mine.length && timingSafeEqual(mine, check);
}

/**
 * The key this process uses, checked against the database's check value before anything is written:
 * MASTER_KEY (or MASTER_KEY_FILE) wins; otherwise DATA_DIR/master.key is read, or created with mode 0600,
 * but only for a database that has no check value yet. A database set up with a key that is not here is
 * refused without creating anything: `hotcert import` run without the server's MASTER_KEY must not seal a
 * version with a new key that the server cannot read.
 */
export function resolveMasterKey(dataDir: string, fromEnv: Buffer | undefined, storedCheck: Buffer | undefined, options: { create?: boolean } = {}): Buffer | undefined {
  const create = options.create ?? true;
  const file = path.join(dataDir, 'master.key');
  let key: Buffer | undefined;
  if (fromEnv) key = fromEnv;
  else if (existsSync(file) || (storedCheck === undefined && create)) key = loadMasterKey(dataDir, undefined);
  else if (create) {
    throw new MasterKeyError(
      `the database in ${dataDir} was set up with a master key that is not here (no MASTER_KEY, MASTER_KEY_FILE or master.key); ` +
        'run with the same MASTER_KEY or MASTER_KEY_FILE as the server (nothing was written)',
    );
  }
  if (key && storedCheck !== undefined && !masterKeyMatches(key, storedCheck)) throw mismatch(dataDir, fromEnv !== undefined);
  return key;
}

/** Where the check value is kept (the settings table; see db/settings-repo.ts). */
export interface CheckValueStore {
  get(name: string): Promise<{ value: Buffer } | undefined>;
  putIfAbsent(name: string, value: Buffer, now: number): Promise<Buffer>;
}

/**
 * resolveMasterKey, then records the check value if the database has none (the first process wins;
 * a second one racing with another key is refused). Read-only: nothing is created or recorded, and
 * without any key a random one stands in, which can decrypt nothing (read-only commands never need to).
 */
export async function establishMasterKey(store: CheckValueStore, dataDir: string, fromEnv: Buffer | undefined, now: number, readOnly = false): Promise<Buffer> {
  const stored = (await store.get(MASTER_KEY_CHECK_SETTING))?.value;
  const key = resolveMasterKey(dataDir, fromEnv, stored, { create: !readOnly });
  if (!key) return randomBytes(32);
  if (stored === undefined && !readOnly) {
    let recorded: Buffer;
    try {
      recorded = await store.putIfAbsent(MASTER_KEY_CHECK_SETTING, masterKeyCheck(key), now);
    } catch (error) {
      // A full or read-only disk must not stop a server that can still serve: the next start records it.
      if (/^SQLITE_(FULL|READONLY|IOERR|BUSY)/.test(String((error as { code?: unknown }).code))) return key;
      throw error;
    }
    if (!masterKeyMatches(key, recorded)) throw mismatch(dataDir, fromEnv !== undefined);
  }
  return key;
}

export function mismatch(dataDir: string, fromEnv: boolean): MasterKeyError {
  return new MasterKeyError(
    `the master key (${fromEnv ? 'MASTER_KEY or MASTER_KEY_FILE' : path.join(dataDir, 'master.key')}) is not the one the database in ${dataDir} was set up with; ` +
      'use the same key as the server (nothing was written)',
  );
}

/**
 * MASTER_KEY wins; otherwise DATA_DIR/master.key is read, or created with mode 0600.
 * Creation uses O_EXCL so two processes booting together agree on one key.
 */
export function loadMasterKey(dataDir: string, fromEnv: Buffer | undefined): Buffer {
  if (fromEnv) return fromEnv;
  const file = path.join(dataDir, 'master.key');
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(32).toString('base64') + '\n');
    } finally {
      closeSync(fd);
    }
    chmodSync(file, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const text = readFileSync(file, 'utf8').trim();
    if (text === '' && statSync(file).size === 0) {
      // Another process created the file a moment ago and has not written it yet.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      continue;
    }
    const key = Buffer.from(text, 'base64');
    if (key.length !== 32) throw new MasterKeyError(`${file} does not hold the base64 of 32 bytes`);
    return key;
  }
  throw new MasterKeyError(`${file} is empty`);
}

/** The key a file holds (MASTER_KEY_FILE's format: base64 of 32 bytes, surrounding white space ignored); never quotes it. */
export function readKeyFile(file: string): Buffer {
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new MasterKeyError(`${file} must hold the base64 encoding of exactly 32 bytes (openssl rand -base64 32)`);
  return key;
}

/** Replaces DATA_DIR/master.key (mode 0600) in one rename, so a crash leaves either the old file or the new one. */
export function replaceMasterKeyFile(dataDir: string, key: Buffer): string {
  const file = path.join(dataDir, 'master.key');
  const next = `${file}.new`;
  const fd = openSync(next, 'w', 0o600);
  try {
    writeSync(fd, key.toString('base64') + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(next, 0o600);
  renameSync(next, file);
  return file;
}
