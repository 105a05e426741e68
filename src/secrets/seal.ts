import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;

/** AES-256-GCM: [1 byte format][12 bytes IV][16 bytes tag][ciphertext]. `context` binds the blob to its row. */
export function seal(masterKey: Buffer, plaintext: string, context: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
}

export class UnsealError extends Error {
  override name = 'UnsealError';
}

export function unseal(masterKey: Buffer, sealed: Buffer, context: string): string {
  if (sealed.length < 29 || sealed[0] !== VERSION) throw new UnsealError('sealed key has an unknown format');
  try {
    const decipher = createDecipheriv('aes-256-gcm', masterKey, sealed.subarray(1, 13));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(sealed.subarray(13, 29));
    return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString('utf8');
  } catch {
    throw new UnsealError('sealed key cannot be decrypted (wrong master key or damaged data)');
  }
}
