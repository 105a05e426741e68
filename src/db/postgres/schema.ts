import { sql } from 'drizzle-orm';
import { bigint, boolean, customType, index, integer, pgSequence, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The PostgreSQL mirror of db/schema.ts: the same tables, columns and meaning, so one set of row types
 * serves both backends. Millisecond timestamps are bigint (read as numbers), blobs are bytea (Buffers).
 */

const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
  fromDriver: (value) => Buffer.from(value),
});

const millis = (name: string) => bigint(name, { mode: 'number' });

export const users = pgTable('users', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  role: text('role', { enum: ['ROLE_ADMIN', 'ROLE_USER'] }).notNull(),
  mustChangePassword: boolean('must_change_password').notNull().default(false),
  createdAt: millis('created_at').notNull(),
  updatedAt: millis('updated_at').notNull(),
});

export const tokens = pgTable(
  'tokens',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    tokenHash: text('token_hash').notNull().unique(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: millis('created_at').notNull(),
    expiresAt: millis('expires_at').notNull(),
  },
  (table) => [index('tokens_user_idx').on(table.userId)],
);

export const certificateVersions = pgTable('certificate_versions', {
  version: integer('version').primaryKey(),
  source: text('source', { enum: ['default', 'upload', 'rollback', 'import', 'acme'] }).notNull(),
  certPem: text('cert_pem').notNull(),
  chainPem: text('chain_pem').notNull(),
  keySealed: bytea('key_sealed').notNull(),
  fingerprint: text('fingerprint_sha256').notNull(),
  summaryJson: text('summary_json').notNull(),
  warningsJson: text('warnings_json').notNull().default('[]'),
  createdAt: millis('created_at').notNull(),
  createdBy: text('created_by').notNull(),
});

/** One row: the active version and the counters (certificate, webhook trust store) every instance watches. */
export const serviceState = pgTable('service_state', {
  id: integer('id').primaryKey(),
  activeVersion: integer('active_version'),
  generation: integer('generation').notNull().default(0),
  webhookCaGeneration: integer('webhook_ca_generation').notNull().default(0),
  fallbackReason: text('fallback_reason'),
  updatedAt: millis('updated_at').notNull().default(sql`0`),
});

export const webhookCa = pgTable('webhook_ca', {
  id: integer('id').primaryKey(),
  pem: text('pem').notNull(),
  fingerprintsJson: text('fingerprints_json').notNull(),
  updatedAt: millis('updated_at').notNull(),
  updatedBy: text('updated_by').notNull(),
});

export const auditLog = pgTable(
  'audit_log',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    at: millis('at').notNull(),
    actor: text('actor').notNull(),
    clientAddress: text('client_address'),
    action: text('action').notNull(),
    fingerprint: text('fingerprint_sha256'),
    detailsJson: text('details_json').notNull().default('{}'),
  },
  (table) => [index('audit_at_idx').on(table.at)],
);

export const settings = pgTable('settings', {
  name: text('name').primaryKey(),
  value: bytea('value').notNull(),
  updatedAt: millis('updated_at').notNull(),
});

export const pendingKeys = pgTable('pending_keys', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  spkiSha256: text('spki_sha256').notNull().unique(),
  keyType: text('key_type').notNull(),
  keySealed: bytea('key_sealed').notNull(),
  namesJson: text('names_json').notNull(),
  csrPem: text('csr_pem').notNull(),
  createdAt: millis('created_at').notNull(),
  createdBy: text('created_by').notNull(),
  expiresAt: millis('expires_at').notNull(),
});

export const webhooks = pgTable('webhooks', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  eventsJson: text('events_json').notNull(),
  secretSealed: bytea('secret_sealed').notNull(),
  enabled: boolean('enabled').notNull().default(true),
  createdAt: millis('created_at').notNull(),
  createdBy: text('created_by').notNull(),
  updatedAt: millis('updated_at').notNull(),
});

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    deliveryId: text('delivery_id').notNull().unique(),
    webhookId: text('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    payload: text('payload').notNull(),
    dedupeKey: text('dedupe_key'),
    status: text('status', { enum: ['pending', 'sending', 'delivered', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: millis('next_attempt_at').notNull(),
    claimedBy: text('claimed_by'),
    claimedUntil: millis('claimed_until'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: millis('created_at').notNull(),
    updatedAt: millis('updated_at').notNull(),
    deliveredAt: millis('delivered_at'),
  },
  (table) => [
    uniqueIndex('webhook_deliveries_dedupe_idx').on(table.webhookId, table.dedupeKey),
    index('webhook_deliveries_due_idx').on(table.status, table.nextAttemptAt),
    index('webhook_deliveries_webhook_idx').on(table.webhookId, table.id),
  ],
);

export const acmeChallenges = pgTable(
  'acme_challenges',
  {
    token: text('token').primaryKey(),
    type: text('type', { enum: ['http-01', 'tls-alpn-01'] }).notNull(),
    domain: text('domain').notNull(),
    keyAuthorization: text('key_authorization').notNull(),
    certPem: text('cert_pem'),
    keySealed: bytea('key_sealed'),
    createdAt: millis('created_at').notNull(),
    expiresAt: millis('expires_at').notNull(),
  },
  (table) => [index('acme_challenges_domain_idx').on(table.domain)],
);

export const acmeRenewal = pgTable('acme_renewal', {
  id: integer('id').primaryKey(),
  leaseHolder: text('lease_holder'),
  leaseExpiresAt: millis('lease_expires_at'),
  nextAttemptAt: millis('next_attempt_at'),
  failures: integer('failures').notNull().default(0),
  lastAttemptAt: millis('last_attempt_at'),
  lastError: text('last_error'),
  lastSuccessAt: millis('last_success_at'),
  lastVersion: integer('last_version'),
  certId: text('cert_id'),
  updatedAt: millis('updated_at').notNull(),
});

/** Orders login_throttle rows by last use across every instance (SQLite takes max(touched) + 1 under its write lock). */
export const loginThrottleTouched = pgSequence('login_throttle_touched_seq');

/** Failed-login counters every instance shares (src/users/login-throttle.ts); see db/schema.ts. */
export const loginThrottle = pgTable(
  'login_throttle',
  {
    key: text('key').primaryKey(),
    failures: integer('failures').notNull(),
    windowStart: millis('window_start').notNull(),
    lockedUntil: millis('locked_until').notNull().default(0),
    touched: bigint('touched', { mode: 'number' }).notNull(),
  },
  (table) => [index('login_throttle_touched_idx').on(table.touched)],
);
