import type { Stores } from '../stores.js';
import { createPgAcmeChallengesStore, createPgAcmeRenewalStore } from './acme-store.js';
import { createPgAuditStore } from './audit-store.js';
import { createPgCertificateStore } from './certificates-store.js';
import type { PgDb } from './open-postgres.js';
import { createPgLoginThrottleStore } from './login-throttle-store.js';
import { createPgPendingKeyStore } from './pending-keys-store.js';
import { guardStore } from './query-errors.js';
import { createPgSealedValuesStore } from './sealed-values-store.js';
import { createPgAcmeAccountStore, createPgSettingsStore } from './settings-store.js';
import { createPgTokenStore, createPgUserStore } from './users-store.js';
import { createPgWebhookCaStore } from './webhook-ca-store.js';
import { createPgDeliveriesStore, createPgWebhooksStore } from './webhooks-store.js';

/**
 * Every store on one PostgreSQL pool, with the same meaning as the SQLite ones (test/db/stores-contract.test.ts).
 * Each method throws DatabaseUnavailableError when the server cannot be reached, and never the driver's message.
 */
export function createPostgresStores(db: PgDb, clock: () => number): Stores {
  return {
    backend: 'postgres',
    settings: guardStore(createPgSettingsStore(db, clock)),
    certificates: guardStore(createPgCertificateStore(db)),
    users: guardStore(createPgUserStore(db)),
    tokens: guardStore(createPgTokenStore(db)),
    loginThrottle: guardStore(createPgLoginThrottleStore(db)),
    audit: guardStore(createPgAuditStore(db, clock)),
    webhookCa: guardStore(createPgWebhookCaStore(db, clock)),
    pendingKeys: guardStore(createPgPendingKeyStore(db, clock)),
    webhooks: guardStore(createPgWebhooksStore(db, clock)),
    deliveries: guardStore(createPgDeliveriesStore(db, clock)),
    acmeAccounts: guardStore(createPgAcmeAccountStore(db, clock)),
    acmeRenewal: guardStore(createPgAcmeRenewalStore(db, clock)),
    acmeChallenges: guardStore(createPgAcmeChallengesStore(db)),
    sealedValues: guardStore(createPgSealedValuesStore(db)),
  };
}
