import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import type { AcmeService } from './acme/acme-service.js';
import { adminRoutes } from './admin/admin-routes.js';
import type { CertificateService } from './certificates/certificate-service.js';
import type { CsrService } from './certificates/csr-service.js';
import type { WebhookCaService } from './certificates/webhook-ca-service.js';
import type { Config } from './config.js';
import type { DatabaseLink } from './db/database-link.js';
import type { AuditStore } from './db/ports.js';
import type { StorageHealth } from './db/storage-health.js';
import { limitBody } from './http/body-limit.js';
import { isClientBodyError } from './http/client-errors.js';
import { ApiError, errorCodes, type ErrorEntry } from './http/errors.js';
import { databaseUnavailableResponse, domainErrorResponse, isDatabaseUnavailableError } from './http/domain-error-response.js';
import { DomainError } from './domain-errors.js';
import { meta } from './http/meta.js';
import { methodNotAllowed } from './http/method-not-allowed.js';
import { requestLog } from './http/request-log.js';
import { securityHeaders } from './http/security-headers.js';
import { json } from './http/respond.js';
import type { Metrics } from './observability/metrics.js';
import { acmeRoutes } from './routes/acme/acme-routes.js';
import { apiReferenceRoutes } from './routes/api-reference/api-reference-routes.js';
import { auditRoutes } from './routes/audit/audit-routes.js';
import { certificatesRoutes } from './routes/certificates/certificates-routes.js';
import { csrRoutes } from './routes/certificates/csr-routes.js';
import { healthDocs } from './routes/health/health-openapi.js';
import { healthRoutes } from './routes/health/health-routes.js';
import { metricsRoutes } from './routes/metrics/metrics-routes.js';
import { usersRoutes } from './routes/users/users-routes.js';
import { webhookCaRoutes } from './routes/webhooks-ca/webhook-ca-routes.js';
import { webhooksRoutes } from './routes/webhooks/webhooks-routes.js';
import type { UserService } from './users/user-service.js';
import type { Webhooks } from './webhooks/webhooks.js';

export interface AppDeps {
  users: UserService;
  certificates: CertificateService;
  csr: CsrService;
  acme: AcmeService;
  webhookCa: WebhookCaService;
  webhooks: Pick<Webhooks, 'service'>;
  audit: AuditStore;
  metrics: Metrics;
  logger: Logger;
  /** The data directory's storage: a full, read-only or vanished one answers 507 (SPEC §6). */
  storage?: StorageHealth;
  /** Whether the shared database (PostgreSQL) is reachable: while it is not, writes answer 503 up front (issue 13). */
  database?: DatabaseLink | undefined;
  /** The operator's configuration (SPEC §2): only what the routes read. */
  config: Pick<Config, 'maxUploadBytes' | 'apiKey'>;
  /** Concurrent uploads allowed from one client address (default 4); not an environment setting. */
  uploadsPerClient?: number | undefined;
}

const envelope = (entries: ErrorEntry[]) => ({ errors: entries, meta });

/** Middleware, routes and error rendering. Listening is startServer's job (src/tls/https-server.ts). */
export function createApp(deps: AppDeps): Hono {
  const { users, certificates, logger, metrics, config } = deps;
  const app = new Hono();

  app.use('*', requestLog({ logger, metrics }));
  app.use('*', securityHeaders());
  // No body anywhere may exceed MAX_UPLOAD_BYTES, JSON ones included.
  app.use('*', limitBody(config.maxUploadBytes));

  // A known path with a method it does not have: 405 + Allow (registered before the routes it reads).
  const wrongMethod = methodNotAllowed(app);
  app.use('*', wrongMethod.middleware);

  // Writes on a full, read-only or vanished data directory are refused up front with 507, not tried.
  app.use('*', async (c, next) => {
    const state = c.req.method === 'GET' || c.req.method === 'HEAD' ? 'ok' : (deps.storage?.current() ?? 'ok');
    if (state !== 'ok') throw deps.storage!.error(state);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && deps.database?.state() === 'unreachable') throw databaseUnavailableResponse(c.req.method);
    return next();
  });

  app.get('/healthz', healthDocs.healthz, (c) => json(c, { status: 'ok' }));

  app.route('/v1/users', usersRoutes({ users }));
  app.route('/v1/certificates/acme', acmeRoutes({ users, acme: deps.acme }));
  app.route('/v1/certificates/external/csr', csrRoutes({ users, csr: deps.csr }));
  app.route('/v1/certificates/external', certificatesRoutes({ users, certificates, uploadsPerClient: deps.uploadsPerClient }));
  app.route('/v1/certificates/webhooks/ca', webhookCaRoutes({ users, webhookCa: deps.webhookCa }));
  app.route('/v1/settings/webhooks', webhooksRoutes({ users, webhooks: deps.webhooks.service }));
  app.route('/v1/health', healthRoutes({ users, certificates, acme: deps.acme, apiKey: config.apiKey, storage: deps.storage, database: deps.database }));
  app.route('/v1/metrics', metricsRoutes({ users, metrics, apiKey: config.apiKey }));
  app.route('/v1/audit', auditRoutes({ users, audit: deps.audit }));
  app.route('/admin', adminRoutes());
  app.route('/v1', apiReferenceRoutes({ app, maxUploadBytes: config.maxUploadBytes }));

  app.notFound((c) => wrongMethod.answer(c) ?? json(c, envelope([{ ...errorCodes.notFound, details: `no route for ${c.req.method} ${c.req.path}` }]), 404));

  app.onError((thrown, c) => {
    const error = thrown instanceof DomainError ? domainErrorResponse(thrown) : isDatabaseUnavailableError(thrown) ? databaseUnavailableResponse(c.req.method) : thrown;
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      return json(c, envelope(error.entries), error.status);
    }
    if (error instanceof HTTPException && error.status < 500) {
      return json(c, envelope([{ ...errorCodes.invalidParameter, details: 'the request could not be read' }]), error.status);
    }
    if (isClientBodyError(error)) {
      logger.warn({ event: 'http.bad_body', code: (error as NodeJS.ErrnoException).code, route: c.req.path, request_id: c.get('requestId') }, 'request body could not be read');
      return json(c, envelope([{ ...errorCodes.invalidParameter, details: 'the request body could not be read (malformed or cut short)' }]), 400);
    }
    const storageProblem = deps.storage?.noteError(error);
    if (storageProblem) {
      const answer = domainErrorResponse(deps.storage!.error(storageProblem));
      for (const [name, value] of Object.entries(answer.headers)) c.header(name, value);
      return json(c, envelope(answer.entries), answer.status);
    }
    // A bug: log the class and route only; messages may quote input, stacks may hold anything.
    logger.error({ event: 'http.internal_error', error_name: error.name, route: c.req.path, request_id: c.get('requestId') }, 'internal error');
    return json(c, envelope([{ ...errorCodes.internal, details: 'internal error; the server log has the request id' }]), 500);
  });

  return app;
}
