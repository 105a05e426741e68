/**
 * Every service of one hotcert instance, wired on one data directory: openServices is used by the server
 * (instance.ts) and by the command line (cli/command-line.ts). The process around it is main.ts.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { createAcmeService } from './acme/acme-service.js';
import { createChallengeResponder } from './acme/challenge-responder.js';
import { createCertificateService } from './certificates/certificate-service.js';
import { createCsrService } from './certificates/csr-service.js';
import { createLastKnownGood, type LastKnownGoodFile } from './certificates/last-known-good.js';
import { createWebhookCaService } from './certificates/webhook-ca-service.js';
import type { Config } from './config.js';
import { describeFsError } from './describe-fs-error.js';
import { createEventBus, type EventBus } from './events/events.js';
import { openDatabase, type Db } from './db/open-database.js';
import { createDatabaseLink, type DatabaseLink } from './db/database-link.js';
import { createSqliteStores, type Stores } from './db/stores.js';
import { startWriteThread } from './db/write-thread.js';
import { createMetrics } from './observability/metrics.js';
import { establishMasterKey, MasterKeyError } from './secrets/master-key.js';
import { createStorageHealth, DESCRIPTIONS, storageProblemOf } from './db/storage-health.js';
import { createIdentitySwitch } from './tls/identity-switch.js';
import { createTicketKeyStore } from './tls/ticket-keys.js';
import { createTrustStore } from './tls/trust-store.js';
import { createLoginThrottle, type LoginThrottleOptions } from './users/login-throttle.js';
import { createUserService } from './users/user-service.js';
import { createWebhooks, type Webhooks } from './webhooks/webhooks.js';
import { createValidationPool } from './workers/validation-pool.js';
import { validateInline, type ValidateTask } from './validation/validate-task.js';

export class DataDirError extends Error {
  override name = 'DataDirError';
}

export interface Services {
  /** Every store of the database (SQLite or PostgreSQL): what the services are wired on. */
  stores: Stores;
  /** The SQLite connection, when the backend is SQLite (tests read rows through it). */
  sqlite: Db | undefined;
  users: ReturnType<typeof createUserService>;
  certificates: ReturnType<typeof createCertificateService>;
  webhookCa: ReturnType<typeof createWebhookCaService>;
  csr: ReturnType<typeof createCsrService>;
  /** ACME issuance and renewal (src/acme/); idle while ACME is not configured. */
  acme: ReturnType<typeof createAcmeService>;
  /** Answers pending ACME challenges (TLS-ALPN-01 in the handshake, HTTP-01 on ACME_HTTP_PORT). */
  challengeResponder: ReturnType<typeof createChallengeResponder>;
  audit: Stores['audit'];
  metrics: ReturnType<typeof createMetrics>;
  identities: ReturnType<typeof createIdentitySwitch>;
  trustStore: ReturnType<typeof createTrustStore>;
  storage: ReturnType<typeof createStorageHealth>;
  /** Whether the shared database is reachable (always `ok` on SQLite); the server's change feed keeps it current. */
  database: DatabaseLink;
  /** Activations, rejections, fallbacks, expiry, ACME outcomes: event webhooks subscribe here. */
  events: EventBus;
  /** Event webhooks: admin service, outbox recording (every process), delivery (servers, once listening). */
  webhooks: Webhooks;
  masterKey: Buffer;
  /** The bundle this instance serves, kept in DATA_DIR for a boot without the shared database (PostgreSQL). */
  lastKnownGood: LastKnownGoodFile | undefined;
  close(): Promise<void>;
}

export interface ServiceOptions {
  logger: Logger;
  clock?: () => number;
  /** 'pool' for the server, 'inline' for the CLI (validation in this thread). */
  validation: 'pool' | 'inline';
  /** The server commits activations on a writer thread, off the event loop; the CLI in its own thread. */
  writeThread?: boolean | undefined;
  workerFile?: string | undefined;
  taskTimeoutMs?: number | undefined;
  maxQueue?: number | undefined;
  processMetrics?: boolean | undefined;
  /** Read-only commands (`hotcert status`): never create the directory, the database or a key; write nothing. */
  readOnly?: boolean | undefined;
  /** ACME lease, backoff and polling (tests use short ones). */
  acme?: Pick<Parameters<typeof createAcmeService>[0], 'leaseMs' | 'backoff' | 'renewalInfoIntervalMs' | 'pollMs' | 'requestRetry' | 'random'> | undefined;
  /** Limits of the login throttle (tests use small ones). */
  loginThrottle?: Partial<Omit<LoginThrottleOptions, 'clock' | 'store'>>;
  /** Keep every served version in DATA_DIR/last-known-good.json (default: the server on PostgreSQL). */
  lastKnownGood?: boolean | undefined;
}

/** Opens the data directory with a one-line error instead of a stack. */
export function prepareDataDir(dataDir: string): string {
  const resolved = path.resolve(dataDir);
  try {
    mkdirSync(resolved, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new DataDirError(`DATA_DIR ${resolved} cannot be created: ${describeFsError(error)}`);
  }
  return resolved;
}

/** For read-only commands: the directory and its database must already exist; nothing is created. */
export function existingDataDir(dataDir: string): string {
  const resolved = path.resolve(dataDir);
  let isDirectory = false;
  try {
    isDirectory = statSync(resolved).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) throw new DataDirError(`DATA_DIR ${resolved} does not exist (nothing was created)`);
  if (!existsSync(path.join(resolved, 'hotcert.db'))) throw new DataDirError(`DATA_DIR ${resolved} holds no hotcert.db: the server has never run there (nothing was created)`);
  return resolved;
}

/** Wires every service on one data directory. Used by the server and by the CLI. */
export async function openServices(config: Pick<Config, 'dataDir' | 'masterKey'> & Partial<Pick<Config, 'tlsProfile' | 'acme' | 'maxUploadBytes'>>, options: ServiceOptions): Promise<Services> {
  const clock = options.clock ?? Date.now;
  const dataDir = options.readOnly ? existingDataDir(config.dataDir) : prepareDataDir(config.dataDir);
  let masterKey: Buffer;
  let db: Db | undefined;
  let stores: Stores;
  try {
    db = openDatabase(path.join(dataDir, 'hotcert.db'), { readOnly: options.readOnly });
    stores = createSqliteStores(db, clock);
    // Before anything else is written: a key that does not match the database's check value is refused.
    masterKey = await establishMasterKey(stores.settings, dataDir, config.masterKey, clock(), options.readOnly);
  } catch (error) {
    db?.$client.close();
    if (error instanceof MasterKeyError) throw new DataDirError(error.message);
    const problem = storageProblemOf(error, dataDir);
    if (problem === 'full') throw new DataDirError(`DATA_DIR ${dataDir} ${DESCRIPTIONS.full}: the database cannot be opened; free some space`);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EROFS' || code === 'ENOENT' || code === 'EPERM' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY') {
      throw new DataDirError(`DATA_DIR ${dataDir} is not writable: ${describeFsError(error)}`);
    }
    throw error;
  }
  const pool =
    options.validation === 'pool'
      ? createValidationPool({ filename: options.workerFile, taskTimeoutMs: options.taskTimeoutMs, maxQueue: options.maxQueue, maxUploadBytes: config.maxUploadBytes })
      : undefined;
  const writer = options.writeThread ? startWriteThread(path.join(dataDir, 'hotcert.db')) : undefined;
  const metrics = createMetrics({ processMetrics: options.processMetrics });
  const storage = createStorageHealth({ dataDir, logger: options.logger, clock, onChange: (state) => metrics.storage(state) });
  const { audit, settings } = stores;
  const identities = createIdentitySwitch(undefined, config.tlsProfile);
  const trustStore = createTrustStore();
  const events = createEventBus((error, event) =>
    options.logger.error({ event: 'events.listener_failed', type: event.type, error_name: (error as Error).name }, 'an event listener failed'),
  );
  const validate = pool
    ? (task: ValidateTask) => {
        metrics.queueDepth(pool.queueSize());
        return pool.validate(task);
      }
    : (task: ValidateTask) => validateInline(task);
  const users = createUserService({
    users: stores.users,
    tokens: stores.tokens,
    audit,
    throttle: createLoginThrottle({ clock, store: stores.loginThrottle, ...options.loginThrottle }),
    logger: options.logger,
    clock,
  });
  const ticketKeys = createTicketKeyStore(settings, masterKey);
  const keepLastKnownGood = options.lastKnownGood ?? (stores.backend === 'postgres' && options.validation === 'pool' && !options.readOnly);
  const lastKnownGood = keepLastKnownGood ? createLastKnownGood({ dataDir, logger: options.logger }) : undefined;
  const csr = createCsrService({ repo: stores.pendingKeys, masterKey, clock, logger: options.logger });
  const certificates = createCertificateService({ repo: stores.certificates, audit, identities, ticketKeys, validate, validateAtBoot: validateInline, commitActivation: writer?.commit, masterKey, clock, logger: options.logger, metrics, events, pendingKeys: csr, lastKnownGood });
  const webhookCa = createWebhookCaService({ repo: stores.webhookCa, audit, trustStore, clock, logger: options.logger });
  const webhooks = createWebhooks({ stores, masterKey, events, trustStore, registry: metrics.registry, clock, logger: options.logger });
  const acmeChallenges = stores.acmeChallenges;
  const challengeResponder = createChallengeResponder({ repo: acmeChallenges, masterKey, clock, logger: options.logger });
  const acme = createAcmeService({
    envConfig: config.acme,
    accounts: stores.acmeAccounts,
    renewal: stores.acmeRenewal,
    challenges: acmeChallenges,
    certificates,
    audit,
    metrics,
    events,
    masterKey,
    clock,
    logger: options.logger,
    onTlsAlpnChange: challengeResponder.setTlsAlpnEnabled,
    ...options.acme,
  });
  return {
    stores,
    sqlite: db,
    users,
    certificates,
    webhookCa,
    csr,
    acme,
    challengeResponder,
    audit,
    metrics,
    identities,
    trustStore,
    storage,
    database: createDatabaseLink({ logger: options.logger }),
    events,
    webhooks,
    masterKey,
    lastKnownGood,
    async close() {
      await webhooks.close();
      await pool?.close();
      await writer?.close();
      await lastKnownGood?.flushed();
      metrics.close();
      db.$client.close();
    },
  };
}
