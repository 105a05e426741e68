import { ACCOUNT_SETTING, CONFIG_SETTING } from '../db/acme-account-repo.js';
import { TICKET_KEYS_SETTING } from '../db/settings-repo.js';

/**
 * The context every sealed value is bound to (seal.ts: a blob copied onto another row does not open).
 * One list, so `hotcert rotate-master-key` re-seals each value under the context its reader expects.
 */
export const sealContexts = {
  /** certificate_versions.key_sealed: the version's SHA-256 fingerprint. */
  certificate: (fingerprint: string) => fingerprint,
  pendingKey: (spkiSha256: string) => `pending-key:${spkiSha256}`,
  webhookSecret: (webhookId: string) => `webhook.secret:${webhookId}`,
  acmeChallenge: (token: string) => `acme-challenge:${token}`,
  acmeAccount: 'acme-account',
  acmeConfig: 'acme-config',
  ticketKeys: TICKET_KEYS_SETTING,
} as const;

/** The settings that hold sealed values, each with its context (the check value is an HMAC, not sealed). */
export const SEALED_SETTINGS: Readonly<Record<string, string>> = {
  [TICKET_KEYS_SETTING]: sealContexts.ticketKeys,
  [ACCOUNT_SETTING]: sealContexts.acmeAccount,
  [CONFIG_SETTING]: sealContexts.acmeConfig,
};
