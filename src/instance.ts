/**
 * One running hotcert instance: bootHotcert applies the boot rules (SPEC §5) to the services of
 * services.ts, listen starts the HTTPS listener with its sync, expiry, ACME and webhook timers.
 * main.ts (`hotcert serve`) and the library API (library/create-hotcert.ts) both start it here.
 */
import type { Hono } from 'hono';
import { startHttpChallengeServer, type HttpChallengeServer } from './acme/http-challenge-server.js';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createReverseProxy } from './proxy/reverse-proxy.js';
import { openServices, type ServiceOptions, type Services } from './services.js';
import { startServer, type ListenOptions, type RunningServer } from './tls/https-server.js';
import { startSetupWarning } from './users/setup-warning.js';
import type { DeliveryOptions } from './webhooks/delivery-loop.js';

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
