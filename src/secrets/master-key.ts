import { randomBytes } from 'node:crypto';
import { chmodSync, openSync, readFileSync, writeSync, closeSync, statSync } from 'node:fs';
import path from 'node:path';

export class MasterKeyError extends Error {
  override name = 'MasterKeyError';
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
