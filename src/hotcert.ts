/**
 * One hotcert instance, assembled: openServices (every service on one data directory; the server and
 * the CLI both use it), bootHotcert (SPEC §5) and listen (the HTTPS listener and its sync timers).
 * The process around it is main.ts (environment, signals, WORKERS); the command line is cli/hotcert.ts.
 */
import type { Hono } from 'hono';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { createAcmeService } from './acme/acme-service.js';
import { createChallengeResponder } from './acme/challenge-responder.js';
import { startHttpChallengeServer, type HttpChallengeServer } from './acme/http-challenge-server.js';
import { createApp } from './app.js';
import { createCertificateService } from './certificates/certificate-service.js';
import { createCsrService } from './certificates/csr-service.js';
import { createWebhookCaService } from './certificates/webhook-ca-service.js';
import type { Config } from './config.js';
import { describeFsError } from './describe-fs-error.js';
import { createEventBus, type EventBus } from './events/events.js';
import { createAcmeAccountRepo } from './db/acme-account-repo.js';
import { createAcmeChallengesRepo } from './db/acme-challenges-repo.js';
import { createAcmeRenewalRepo } from './db/acme-renewal-repo.js';
import { createAuditRepo } from './db/audit-repo.js';
import { createCertificatesRepo } from './db/certificates-repo.js';
import { createPendingKeysRepo } from './db/pending-keys-repo.js';
import type { SettingsStore } from './db/ports.js';
import { openDatabase, type Db } from './db/open-database.js';
import { createSettingsRepo } from './db/settings-repo.js';
import { createWebhookCaRepo } from './db/webhook-ca-repo.js';
import { startWriteThread } from './db/write-thread.js';
import { createTokensRepo, createUsersRepo } from './db/users-repo.js';
import { createMetrics } from './observability/metrics.js';
import { createReverseProxy } from './proxy/reverse-proxy.js';
import { establishMasterKey, MasterKeyError } from './secrets/master-key.js';
import { createStorageHealth, DESCRIPTIONS, storageProblemOf } from './db/storage-health.js';
import { createIdentitySwitch } from './tls/identity-switch.js';
import { startServer, type ListenOptions, type RunningServer } from './tls/https-server.js';
import { createTicketKeyStore } from './tls/ticket-keys.js';
import { createTrustStore } from './tls/trust-store.js';
import { createLoginThrottle, type LoginThrottleOptions } from './users/login-throttle.js';
import { startSetupWarning } from './users/setup-warning.js';
import { resetThrottles, throttleResetMarker } from './users/throttle-reset.js';
import { createUserService } from './users/user-service.js';
import type { DeliveryOptions } from './webhooks/delivery-loop.js';
import { createWebhooks, type Webhooks } from './webhooks/webhooks.js';
import { createValidationPool } from './workers/validation-pool.js';
import { validateInline, type ValidateTask } from './validation/validate-task.js';

export class DataDirError extends Error {
  override name = 'DataDirError';
}

export interface Services {
  db: Db;
  users: ReturnType<typeof createUserService>;
  certificates: ReturnType<typeof createCertificateService>;
  webhookCa: ReturnType<typeof createWebhookCaService>;
  csr: ReturnType<typeof createCsrService>;
  /** ACME issuance and renewal (src/acme/); idle while ACME is not configured. */
  acme: ReturnType<typeof createAcmeService>;
  /** Answers pending ACME challenges (TLS-ALPN-01 in the handshake, HTTP-01 on ACME_HTTP_PORT). */
  challengeResponder: ReturnType<typeof createChallengeResponder>;
  audit: ReturnType<typeof createAuditRepo>;
  metrics: ReturnType<typeof createMetrics>;
  identities: ReturnType<typeof createIdentitySwitch>;
  trustStore: ReturnType<typeof createTrustStore>;
  storage: ReturnType<typeof createStorageHealth>;
  /** Activations, rejections, fallbacks, expiry, ACME outcomes: event webhooks subscribe here. */
  events: EventBus;
  /** Event webhooks: admin service, outbox recording (every process), delivery (servers, once listening). */
  webhooks: Webhooks;
  masterKey: Buffer;
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
  loginThrottle?: Partial<Omit<LoginThrottleOptions, 'clock' | 'resetMarker'>>;
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
  let settings: SettingsStore;
  try {
    db = openDatabase(path.join(dataDir, 'hotcert.db'), { readOnly: options.readOnly });
    settings = createSettingsRepo(db, clock);
    // Before anything else is written: a key that does not match the database's check value is refused.
    masterKey = await establishMasterKey(settings, dataDir, config.masterKey, clock(), options.readOnly);
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
  const audit = createAuditRepo(db, clock);
  const repo = createCertificatesRepo(db, clock);
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
    users: createUsersRepo(db),
    tokens: createTokensRepo(db),
    audit,
    throttle: createLoginThrottle({ clock, resetMarker: throttleResetMarker(settings), ...options.loginThrottle }),
    resetThrottle: () => resetThrottles(settings),
    logger: options.logger,
    clock,
  });
  const ticketKeys = createTicketKeyStore(settings, masterKey);
  const csr = createCsrService({ repo: createPendingKeysRepo(db, clock), masterKey, clock, logger: options.logger });
  const certificates = createCertificateService({ repo, audit, identities, ticketKeys, validate, validateAtBoot: validateInline, commitActivation: writer?.commit, masterKey, clock, logger: options.logger, metrics, events, pendingKeys: csr });
  const webhookCa = createWebhookCaService({ repo: createWebhookCaRepo(db, clock), audit, trustStore, clock, logger: options.logger });
  const webhooks = createWebhooks({ db, masterKey, events, trustStore, registry: metrics.registry, clock, logger: options.logger });
  const acmeChallenges = createAcmeChallengesRepo(db);
  const challengeResponder = createChallengeResponder({ repo: acmeChallenges, masterKey, clock, logger: options.logger });
  const acme = createAcmeService({
    envConfig: config.acme,
    accounts: createAcmeAccountRepo(db, clock),
    renewal: createAcmeRenewalRepo(db, clock),
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
    db,
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
    events,
    webhooks,
    masterKey,
    async close() {
      await webhooks.close();
      await pool?.close();
      await writer?.close();
      metrics.close();
      db.$client.close();
    },
  };
}

export interface Hotcert {
  services: Services;
  /** The Hono application being served (tests walk its routes). */
  app: Hono;
  listener: RunningServer;
  port: number;
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions extends Omit<ServiceOptions, 'validation'> {
  /** How often to look for changes made by other processes. */
  syncIntervalMs?: number;
  expiryCheckIntervalMs?: number;
  /** How often expired login tokens are deleted (default hourly; every login also does it). */
  tokenPurgeIntervalMs?: number;
  /** Concurrent uploads allowed from one client address (default 4). */
  uploadsPerClient?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How often to warn while the admin password is still the default (a minute). */
  setupWarningIntervalMs?: number;
  /** Webhook delivery: retry delays, attempts, timeout, poll interval (tests use small ones). */
  webhooks?: DeliveryOptions;
  /** How often the ACME scheduler looks whether a renewal is due (a minute). */
  acmeCheckIntervalMs?: number;
}

/** Boot rules of SPEC §5 done, not yet listening: `listen` serves `fetch` (hotcert's app, or an embedding app's). */
export interface BootedHotcert {
  services: Services;
  /** hotcert's own routes and middleware (createApp). */
  app: ReturnType<typeof createApp>;
  listen(fetch: ListenOptions['fetch'], at: { port: number; host?: string | undefined }): Promise<Hotcert>;
}

/** Boot rules of SPEC §5, then listen. */
export async function startHotcert(config: Config, options: StartOptions): Promise<Hotcert> {
  const booted = await bootHotcert(config, options);
  return booted.listen(booted.app.fetch, { port: config.port, host: config.host });
}

/**
 * Opens the services and applies the boot rules; `listen` then starts the one HTTPS listener with the
 * identity switch, ticket-key rotation and sync timers. Shared by `startHotcert` and the library API.
 */
export async function bootHotcert(config: Config, options: StartOptions): Promise<BootedHotcert> {
  const { logger } = options;
  const services = await openServices(config, { ...options, validation: 'pool', writeThread: true });
  const { users, certificates, webhookCa, identities } = services;
  let boot: Awaited<ReturnType<typeof certificates.bootstrap>>;
  try {
    await users.ensureDefaultAdmin(config.adminPassword);
    boot = await certificates.bootstrap();
    await webhookCa.reload();
  } catch (error) {
    await services.close();
    throw error;
  }

  const app = createApp({ ...services, logger, config, uploadsPerClient: options.uploadsPerClient });
  return { services, app, listen };

  async function listen(fetch: ListenOptions['fetch'], at: { port: number; host?: string | undefined }): Promise<Hotcert> {
    const proxy = config.upstream
      ? createReverseProxy({
          upstream: config.upstream,
          timeoutMs: config.upstreamTimeoutMs,
          maxBodyBytes: config.maxProxyBodyBytes,
          bodyTimeoutMs: options.requestTimeoutMs ?? 30_000,
          logger,
          metrics: services.metrics,
        })
      : undefined;
    const listener = await startServer({
      fetch,
      identities,
      host: at.host,
      port: at.port,
      logger,
      headersTimeoutMs: options.headersTimeoutMs,
      // With a proxy, its body guards replace Node's whole-request timeout (which would cut long uploads).
      requestTimeoutMs: proxy ? 0 : options.requestTimeoutMs,
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      maxConnectionsPerClient: config.maxConnectionsPerClient,
      forward: proxy?.forward,
      upgrade: proxy?.upgrade,
      challenges: { enabled: services.challengeResponder.tlsAlpnEnabled, server: services.challengeResponder.createChallengeServer(config.handshakeTimeoutMs) },
    });

    // HTTP-01: a plain listener on the configured port, following configuration changes made through the API.
    let httpChallenges: HttpChallengeServer | undefined;
    let httpChange = Promise.resolve();
    const followHttpPort = (port: number | undefined) => {
      httpChange = httpChange.then(async () => {
        if (httpChallenges?.port === port) return;
        await httpChallenges?.close();
        httpChallenges = undefined;
        if (port === undefined) return;
        try {
          httpChallenges = await startHttpChallengeServer({ port, host: at.host, httpsPort: listener.port, responder: services.challengeResponder, logger });
          logger.info({ event: 'acme.http_listening', port }, 'HTTP-01 challenge listener started');
        } catch (error) {
          logger.error({ event: 'acme.http_listen_failed', port, code: (error as NodeJS.ErrnoException).code }, 'HTTP-01 challenge listener could not start');
        }
      });
    };
    services.acme.onHttpPortChange(followHttpPort);
    followHttpPort(await services.acme.httpPort());
    await httpChange;
    let acmeTicking = false;
    const acmeTick = () => {
      if (acmeTicking) return;
      acmeTicking = true;
      services.acme
        .tick()
        .catch((error: unknown) => logger.error({ event: 'acme.tick_failed', error_name: (error as Error).name, message: (error as Error).message }, 'ACME scheduler failed'))
        .finally(() => (acmeTicking = false));
    };
    const acmeTimer = setInterval(acmeTick, options.acmeCheckIntervalMs ?? 60_000);
    acmeTimer.unref();
    // The first issuance should not wait a whole interval; the listener answers challenges from now on.
    setImmediate(acmeTick);

    // Each kind of change has its own generation: a certificate change never reloads the trust store, nor the reverse.
    const syncTimer = setInterval(() => {
      certificates.syncFromDatabase().catch((error: unknown) => logger.error({ event: 'sync.failed', error_name: (error as Error).name }, 'certificate sync from database failed'));
      webhookCa.syncFromDatabase().catch((error: unknown) => logger.error({ event: 'sync.failed', error_name: (error as Error).name }, 'webhook CA sync from database failed'));
    }, options.syncIntervalMs ?? 200);
    syncTimer.unref();
    const expiryTimer = setInterval(() => {
      certificates.checkExpiry().catch((error: unknown) => logger.error({ event: 'certificate.expiry_check_failed', error_name: (error as Error).name }, 'expiry check failed'));
    }, options.expiryCheckIntervalMs ?? 60 * 60 * 1000);
    expiryTimer.unref();
    const purgeTimer = setInterval(() => {
      users.purgeExpiredTokens().catch((error: unknown) => {
        logger.warn({ event: 'tokens.purge_failed', error_name: (error as Error).name, code: (error as { code?: unknown }).code }, 'deleting expired tokens failed; retrying later');
      });
    }, options.tokenPurgeIntervalMs ?? 60 * 60 * 1000);
    purgeTimer.unref();
    // Keys also age out without a certificate change: one process replaces day-old keys, every process takes them.
    const ticketKeyTimer = setInterval(() => {
      certificates.refreshTicketKeys().catch((error: unknown) => logger.error({ event: 'tls.ticket_keys_failed', error_name: (error as Error).name }, 'ticket key rotation failed'));
    }, 60 * 60 * 1000);
    ticketKeyTimer.unref();

    services.webhooks.startDelivery(options.webhooks);

    const stopSetupWarning = startSetupWarning({ users, logger, intervalMs: options.setupWarningIntervalMs });

    const health = await certificates.health();
    logger.info(
      {
        event: 'listening',
        port: listener.port,
        host: at.host ?? '0.0.0.0',
        ...(config.upstream ? { upstream: config.upstream.label } : {}),
        fingerprint_sha256: health.fingerprint_sha256,
        version: health.version,
        certificate_status: health.status,
        ...(boot.fallbackReason ? { fallback_reason: boot.fallbackReason } : {}),
      },
      'hotcert listening',
    );

    return {
      services,
      app,
      listener,
      port: listener.port,
      async close(graceMs) {
        clearInterval(syncTimer);
        clearInterval(expiryTimer);
        clearInterval(purgeTimer);
        clearInterval(ticketKeyTimer);
        clearInterval(acmeTimer);
        stopSetupWarning();
        // Tunnels never end by themselves (a WebSocket stays open), so they close now; requests get the grace period.
        proxy?.closeTunnels();
        await listener.close(graceMs);
        services.acme.onHttpPortChange(() => undefined);
        await httpChange;
        await httpChallenges?.close();
        proxy?.close();
        await services.close();
      },
    };
  }
}
