import { Hono } from 'hono';
import type { CertificateService } from '../../certificates/certificate-service.js';
import { requireAuth } from '../../http/auth.js';
import { reply } from '../../http/respond.js';
import type { UserService } from '../../users/user-service.js';
import { healthDocs } from './health-openapi.js';

/** `/v1/health`, for any user or the monitoring API key. `/healthz` lives in app.ts, outside /v1 and auth. */
export function healthRoutes({ users, certificates, apiKey }: { users: UserService; certificates: CertificateService; apiKey?: string | undefined }) {
  const app = new Hono();
  app.get('/', healthDocs.health, requireAuth({ users, apiKey }), (c) =>
    reply(c, { health: { webapp_status: 'ok', setup_required: users.setupRequired(), certificate: certificates.health() } }),
  );
  return app;
}
