import type { AcmeAccountRepo } from './acme-account-repo.js';
import { createAcmeAccountRepo } from './acme-account-repo.js';
import { createAcmeChallengesRepo, type AcmeChallengesRepo } from './acme-challenges-repo.js';
import { createAcmeRenewalRepo, type AcmeRenewalRepo } from './acme-renewal-repo.js';
import { createAuditRepo } from './audit-repo.js';
import { createCertificatesRepo, type ActivationWrite, type ActivationWritten } from './certificates-repo.js';
import type { Db } from './open-database.js';
import { createPendingKeysRepo } from './pending-keys-repo.js';
import { createLoginThrottleRepo } from './login-throttle-repo.js';
import type { AuditStore, CertificateStore, LoginThrottleStore, PendingKeyStore, SealedValueStore, SettingsStore, TokenStore, UserStore, WebhookCaStore } from './ports.js';
import { createSealedValuesRepo } from './sealed-values-repo.js';
import { createSettingsRepo } from './settings-repo.js';
import { createTokensRepo, createUsersRepo } from './users-repo.js';
import { createWebhookCaRepo } from './webhook-ca-repo.js';
import { createWebhookDeliveriesRepo, type WebhookDeliveriesRepo } from './webhook-deliveries-repo.js';
import { createWebhooksRepo, type WebhooksRepo } from './webhooks-repo.js';

/**
 * Every store of one database, whichever backend keeps it: the services are wired on this and never
 * on a connection. The SQLite backend (this file) and the PostgreSQL backend (db/postgres/) each
 * return one; every method has the same meaning on both (test/db/stores-contract.test.ts).
 */
export interface Stores {
  backend: 'sqlite' | 'postgres';
  settings: SettingsStore;
  certificates: CertificateStore;
  users: UserStore;
  tokens: TokenStore;
  /** Failed-login counters shared by every process (the login throttle). */
  loginThrottle: LoginThrottleStore;
  audit: AuditStore;
  webhookCa: WebhookCaStore;
  pendingKeys: PendingKeyStore;
  webhooks: WebhooksRepo;
  deliveries: WebhookDeliveriesRepo;
  acmeAccounts: AcmeAccountRepo;
  acmeRenewal: AcmeRenewalRepo;
  acmeChallenges: AcmeChallengesRepo;
  /** Every sealed value at once (hotcert rotate-master-key). */
  sealedValues: SealedValueStore;
}

/** The SQLite stores on one connection; `commit` sends activations to the writer thread (db/write-thread.ts). */
export function createSqliteStores(db: Db, clock: () => number, options: { commit?: ((write: ActivationWrite) => Promise<ActivationWritten>) | undefined } = {}): Stores {
  return {
    backend: 'sqlite',
    settings: createSettingsRepo(db, clock),
    certificates: createCertificatesRepo(db, clock, options),
    users: createUsersRepo(db),
    tokens: createTokensRepo(db),
    loginThrottle: createLoginThrottleRepo(db),
    audit: createAuditRepo(db, clock),
    webhookCa: createWebhookCaRepo(db, clock),
    pendingKeys: createPendingKeysRepo(db, clock),
    webhooks: createWebhooksRepo(db, clock),
    deliveries: createWebhookDeliveriesRepo(db, clock),
    acmeAccounts: createAcmeAccountRepo(db, clock),
    acmeRenewal: createAcmeRenewalRepo(db, clock),
    acmeChallenges: createAcmeChallengesRepo(db),
    sealedValues: createSealedValuesRepo(db),
  };
}
