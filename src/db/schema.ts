import { sql } from 'drizzle-orm';
import { blob, index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  role: text('role', { enum: ['ROLE_ADMIN', 'ROLE_USER'] }).notNull(),
  mustChangePassword: integer('must_change_password', { mode: 'boolean' }).notNull().default(false),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const tokens = sqliteTable(
  'tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    tokenHash: text('token_hash').notNull().unique(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (table) => [index('tokens_user_idx').on(table.userId)],
);

export const certificateVersions = sqliteTable('certificate_versions', {
  version: integer('version').primaryKey(),
  source: text('source', { enum: ['default', 'upload', 'rollback', 'import'] }).notNull(),
  certPem: text('cert_pem').notNull(),
  chainPem: text('chain_pem').notNull(),
  keySealed: blob('key_sealed', { mode: 'buffer' }).notNull(),
  fingerprint: text('fingerprint_sha256').notNull(),
  summaryJson: text('summary_json').notNull(),
  warningsJson: text('warnings_json').notNull().default('[]'),
  createdAt: integer('created_at').notNull(),
  createdBy: text('created_by').notNull(),
});

/** One row: which version is served, and a counter every process watches to pick up changes. */
export const serviceState = sqliteTable('service_state', {
  id: integer('id').primaryKey(),
  activeVersion: integer('active_version'),
  generation: integer('generation').notNull().default(0),
  fallbackReason: text('fallback_reason'),
  updatedAt: integer('updated_at').notNull().default(sql`0`),
});

/** The trust store for outgoing webhook calls: one row, or none. */
export const webhookCa = sqliteTable('webhook_ca', {
  id: integer('id').primaryKey(),
  pem: text('pem').notNull(),
  fingerprintsJson: text('fingerprints_json').notNull(),
  updatedAt: integer('updated_at').notNull(),
  updatedBy: text('updated_by').notNull(),
});

export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    actor: text('actor').notNull(),
    clientAddress: text('client_address'),
    action: text('action').notNull(),
    fingerprint: text('fingerprint_sha256'),
    detailsJson: text('details_json').notNull().default('{}'),
  },
  (table) => [index('audit_at_idx').on(table.at)],
);

/** Small named values every process shares (master-key check value, sealed TLS ticket keys, …). */
export const settings = sqliteTable('settings', {
  name: text('name').primaryKey(),
  value: blob('value', { mode: 'buffer' }).notNull(),
  updatedAt: integer('updated_at').notNull(),
});
