import { Hono } from 'hono';
import type { AcmeService } from '../../acme/acme-service.js';
import type { CertificateService } from '../../certificates/certificate-service.js';
import type { DatabaseLink } from '../../db/database-link.js';
import { isDatabaseUnavailable } from '../../db/database-unavailable.js';
import type { StorageHealth } from '../../db/storage-health.js';
import { requireAuth } from '../../http/auth.js';
import { reply } from '../../http/respond.js';
import type { UserService } from '../../users/user-service.js';
import { healthDocs } from './health-openapi.js';

/** `/v1/health`, for any user or the monitoring API key. `/healthz` lives in app.ts, outside /v1 and auth. */
export function healthRoutes({ users, certificates, acme, apiKey, storage, database }: { users: UserService; certificates: CertificateService; acme?: AcmeService | undefined; apiKey?: string | undefined; storage?: StorageHealth | undefined; database?: DatabaseLink | undefined }) {
  const app = new Hono();
  // The ACME part lives in the database: during an outage the last answer stands, so health never fails.
  let acmeWas: Awaited<ReturnType<AcmeService['health']>> | null = null;
  const acmeHealth = async () => {
    if (!acme) return null;
    try {
      acmeWas = await acme.health();
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
    }
    return acmeWas;
  };
  app.get('/', healthDocs.health, requireAuth({ users, apiKey }), async (c) => {
    // A full, read-only or vanished data directory, or an unreachable database: still serving, but nothing can be changed.
    const state = storage?.current() ?? 'ok';
    const databaseState = database?.state() ?? 'ok';
    return reply(c, {
      health: {
        webapp_status: state === 'ok' && databaseState === 'ok' ? 'ok' : 'degraded',
        storage: state,
        database: databaseState,
        setup_required: await users.setupRequired(),
        certificate: await certificates.health(),
        acme: await acmeHealth(),
      },
    });
  });
  return app;
}
