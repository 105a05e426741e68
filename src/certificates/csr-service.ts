import type { PendingKeyStore } from '../db/ports.js';
import { createHash, createPublicKey, generateKeyPair, webcrypto, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { PendingKeyRow } from '../db/pending-keys-repo.js';
import { seal, unseal } from '../secrets/seal.js';
import type { ChangeContext } from './certificate-service.js';
import { x509Library } from './x509-library.js';
import { sealContexts } from '../secrets/seal-contexts.js';

export const CSR_KEY_TYPES = ['ec-p256', 'rsa-2048', 'rsa-3072'] as const;
export type CsrKeyType = (typeof CSR_KEY_TYPES)[number];

/** A pending key waits this long for its certificate; CAs with manual validation can take days. */
export const PENDING_KEY_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

export interface PendingCsrView {
  id: number;
  names: string[];
  key_type: CsrKeyType;
  /** SHA-256 of the public key (SubjectPublicKeyInfo), lower-case hex: how an upload finds its key. */
  public_key_sha256: string;
  csr: string;
  created_at: string;
  created_by: string;
  expires_at: string;
}

export interface CsrServiceDeps {
  repo: PendingKeyStore;
  masterKey: Buffer;
  clock: () => number;
  logger: Logger;
}

const generate = promisify(generateKeyPair);

const ALGORITHMS = {
  'ec-p256': { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  'rsa-2048': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  'rsa-3072': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
} as const;

/** libuv's thread pool does the work of generateKeyPair, off the event loop (RSA-3072 takes a while). */
function generateKey(type: CsrKeyType): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  if (type === 'ec-p256') return generate('ec', { namedCurve: 'prime256v1' });
  return generate('rsa', { modulusLength: type === 'rsa-2048' ? 2048 : 3072 });
}

const sealContext = sealContexts.pendingKey;

export const spkiSha256Of = (key: KeyObject): string =>
  createHash('sha256').update((key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' })).digest('hex');

function toView(row: PendingKeyRow): PendingCsrView {
  return {
    id: row.id,
    names: JSON.parse(row.namesJson) as string[],
    key_type: row.keyType as CsrKeyType,
    public_key_sha256: row.spkiSha256,
    csr: row.csrPem,
    created_at: new Date(row.createdAt).toISOString(),
    created_by: row.createdBy,
    expires_at: new Date(row.expiresAt).toISOString(),
  };
}

/** Builds the PKCS#10 request: CN = the first name, every name in subjectAltName (DNS or IP). */
async function buildCsr(names: string[], type: CsrKeyType, privateKey: KeyObject, publicKey: KeyObject): Promise<string> {
  const x509 = await x509Library();
  const algorithm = ALGORITHMS[type];
  const subtle = webcrypto.subtle;
  const keys = {
    privateKey: await subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), algorithm, false, ['sign']),
    publicKey: await subtle.importKey('spki', publicKey.export({ type: 'spki', format: 'der' }), algorithm, true, ['verify']),
  };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: new x509.Name([{ CN: [names[0]!] }]),
    keys: keys as unknown as CryptoKeyPair,
    signingAlgorithm: algorithm,
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: isIP(value) ? ('ip' as const) : ('dns' as const), value })))],
  });
  return csr.toString('pem') + '\n';
}

export function createCsrService({ repo, masterKey, clock, logger }: CsrServiceDeps) {
  return {
    /** Generates a key, seals it, and answers the CSR. The key itself never leaves this function unsealed. */
    async create(request: { names: string[]; keyType: CsrKeyType }, context: ChangeContext): Promise<PendingCsrView> {
      const names = [...new Set(request.names.map((name) => name.toLowerCase()))];
      const { privateKey, publicKey } = await generateKey(request.keyType);
      const csrPem = await buildCsr(names, request.keyType, privateKey, publicKey);
      const spkiSha256 = spkiSha256Of(publicKey);
      const now = clock();
      await repo.purgeExpired(now);
      const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const row = await repo.insert(
        {
          spkiSha256,
          keyType: request.keyType,
          keySealed: seal(masterKey, keyPem, sealContext(spkiSha256)),
          namesJson: JSON.stringify(names),
          csrPem,
          createdAt: now,
          createdBy: context.actor,
          expiresAt: now + PENDING_KEY_LIFETIME_MS,
        },
        { actor: context.actor, clientAddress: context.address, action: 'certificate.csr_created', details: { names, key_type: request.keyType, public_key_sha256: spkiSha256 } },
      );
      logger.info({ event: 'certificate.csr_created', pending_key_id: row.id, key_type: request.keyType, names, public_key_sha256: spkiSha256, actor: context.actor }, 'CSR created; its key waits, sealed, for the certificate');
      return toView(row);
    },

    async list(): Promise<PendingCsrView[]> {
      return (await repo.list(clock())).map(toView);
    },

    /** Deletes a pending key and its CSR; false when there is no such pending CSR. */
    async discard(id: number, context: ChangeContext): Promise<boolean> {
      const removed = await repo.discard(id, { actor: context.actor, clientAddress: context.address, action: 'certificate.csr_discarded' });
      if (removed) logger.info({ event: 'certificate.csr_discarded', pending_key_id: id, actor: context.actor }, 'pending CSR key discarded');
      return removed;
    },

    /** The pending key for one of these public keys, unsealed (only this one), or undefined. */
    async match(spkiSha256: string[]): Promise<{ id: number; keyPem: string } | undefined> {
      const row = await repo.findBySpki(spkiSha256, clock());
      if (!row) return undefined;
      try {
        return { id: row.id, keyPem: unseal(masterKey, row.keySealed, sealContext(row.spkiSha256)) };
      } catch {
        logger.error({ event: 'certificate.pending_key_unusable', pending_key_id: row.id }, 'a pending CSR key cannot be decrypted with the current master key');
        return undefined;
      }
    },

    /** The certificate for this key is now served: the key lives on, sealed, in that version only. */
    async consume(id: number, context: ChangeContext, fingerprint: string): Promise<void> {
      try {
        await repo.remove(id, { actor: context.actor, clientAddress: context.address, action: 'certificate.csr_consumed', fingerprint, details: { pending_key_id: id } });
      } catch (error) {
        // The certificate is served already; the leftover pending row expires on its own.
        logger.warn({ event: 'certificate.csr_consume_failed', pending_key_id: id, error_name: (error as Error).name }, 'could not remove the used pending CSR key');
        return;
      }
      logger.info({ event: 'certificate.csr_consumed', pending_key_id: id, fingerprint_sha256: fingerprint }, 'pending CSR key used by the activated certificate');
    },
  };
}

export type CsrService = ReturnType<typeof createCsrService>;
