import { Hono } from 'hono';
import type { AcmeService } from '../../acme/acme-service.js';
import type { CertificateService } from '../../certificates/certificate-service.js';
import type { StorageHealth } from '../../db/storage-health.js';
import { requireAuth } from '../../http/auth.js';
import { reply } from '../../http/respond.js';
import type { UserService } from '../../users/user-service.js';
import { healthDocs } from './health-openapi.js';

/** `/v1/health`, for any user or the monitoring API key. `/healthz` lives in app.ts, outside /v1 and auth. */
export function healthRoutes({ users, certificates, acme, apiKey, storage }: { users: UserService; certificates: CertificateService; acme?: AcmeService | undefined; apiKey?: string | undefined; storage?: StorageHealth | undefined }) {
  const app = new Hono();
  app.get('/', healthDocs.health, requireAuth({ users, apiKey }), async (c) => {
    // A full, read-only or vanished data directory: still serving, but nothing can be changed.
    const state = storage?.current() ?? 'ok';
    return reply(c, {
      health: { webapp_status: state === 'ok' ? 'ok' : 'degraded', storage: state, setup_required: await users.setupRequired(), certificate: await certificates.health(), acme: acme ? await acme.health() : null },
    });
  });
  return app;
}
