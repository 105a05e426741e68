import { generateKeyPairSync } from 'node:crypto';
import type { AcmeConfig, AcmeKeyType } from './acme-config.js';
import { challengeOf } from './acme-config.js';
import { acmeClient } from './acme-http.js';

/** Where a pending challenge goes while the CA validates it (the database, for every process). */
export interface ChallengeStore {
  putHttp(token: string, domain: string, keyAuthorization: string): Promise<void>;
  putTlsAlpn(token: string, domain: string, keyAuthorization: string, certPem: string, keyPem: string): Promise<void>;
  remove(token: string): Promise<void>;
}

export interface Issued {
  /** Key, leaf and intermediates, ready for the upload pipeline. */
  pemBundle: string;
  certPem: string;
  accountUrl: string;
}

/** The CA refused (order or authorization invalid): not a network problem. */
export class AcmeRefusedError extends Error {
  override name = 'AcmeRefusedError';
}

export function generateKey(type: AcmeKeyType): string {
  const pair =
    type === 'rsa-2048'
      ? generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } })
      : generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  return pair.privateKey;
}

/** One RFC 8555 order: account (created or found by its key), authorizations, challenges, finalize, download. */
export async function issueCertificate(input: { config: AcmeConfig; accountKeyPem: string; challenges: ChallengeStore; pollMs?: number | undefined }): Promise<Issued> {
  const { config, challenges } = input;
  const type = challengeOf(config);
  const acme = acmeClient();
  const client = new acme.Client({
    directoryUrl: config.directoryUrl,
    accountKey: input.accountKeyPem,
    ...(config.eabKid && config.eabHmacKey ? { externalAccountBinding: { kid: config.eabKid, hmacKey: config.eabHmacKey } } : {}),
    // Status polls (and retries of a failed poll): about 45 s in all with the default 500 ms start.
    backoffAttempts: 8,
    backoffMin: input.pollMs ?? 500,
    backoffMax: Math.min(10_000, (input.pollMs ?? 500) * 20),
  });
  // newAccount with an existing key answers the existing account, so this also finds it after a restart.
  // An existing account is then updated with `contact`: always sent (empty without ACME_EMAIL), since an
  // update with nothing in it is refused ("use POST-as-GET").
  await client.createAccount({ termsOfServiceAgreed: true, contact: config.email ? [`mailto:${config.email}`] : [] });
  const order = await client.createOrder({ identifiers: config.domains.map((value) => ({ type: 'dns', value })) });
  const authorizations = await client.getAuthorizations(order);
  const pending: string[] = [];
  try {
    for (const authz of authorizations) {
      if (authz.status === 'valid') continue;
      const domain = authz.identifier.value;
      const challenge = authz.challenges.find((candidate) => candidate.type === type);
      if (!challenge) throw new AcmeRefusedError(`the CA offers no ${type} challenge for ${domain}`);
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      if (type === 'tls-alpn-01') {
        const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
        await challenges.putTlsAlpn(challenge.token, domain, keyAuthorization, cert.toString(), key.toString());
      } else {
        await challenges.putHttp(challenge.token, domain, keyAuthorization);
      }
      pending.push(challenge.token);
      await client.completeChallenge(challenge);
      try {
        await client.waitForValidStatus(challenge);
      } catch (error) {
        throw new AcmeRefusedError(`${type} validation of ${domain} failed: ${(error as Error).message}`);
      }
    }
    const keyPem = generateKey(config.keyType);
    const [, csr] = await acme.crypto.createCsr({ commonName: config.domains[0]!, altNames: config.domains }, keyPem);
    let finalized;
    try {
      finalized = await client.finalizeOrder(order, csr);
    } catch (error) {
      throw new AcmeRefusedError(`the CA refused to finalize the order: ${(error as Error).message}`);
    }
    const chain = await client.getCertificate(finalized);
    const certPem = acme.crypto.splitPemChain(chain)[0] ?? '';
    return { pemBundle: `${keyPem.trimEnd()}\n${chain.trimEnd()}\n`, certPem, accountUrl: client.getAccountUrl() };
  } finally {
    for (const token of pending) await challenges.remove(token).catch(() => undefined);
  }
}
