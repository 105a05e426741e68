import { Hono, type Context } from 'hono';
import type { CertificateService } from '../../certificates/certificate-service.js';
import { requireAuth } from '../../http/auth.js';
import { clientAddress } from '../../http/client-address.js';
import { bundleContentType, readBundle } from '../../http/bundle-body.js';
import { limitConcurrentUploads } from '../../http/upload-concurrency.js';
import { headers, jsonBody, query } from '../../http/validated-input.js';
import { json, reply } from '../../http/respond.js';
import type { UserService } from '../../users/user-service.js';
import { certificatesDocs, ifMatchHeaders, rollbackBody, uploadQuery } from './certificates-openapi.js';

export interface CertificatesRoutesDeps {
  users: UserService;
  certificates: CertificateService;
  uploadsPerClient?: number | undefined;
}

export function certificatesRoutes({ users, certificates, uploadsPerClient = 4 }: CertificatesRoutesDeps) {
  const app = new Hono();
  const anyUser = requireAuth({ users });
  const admin = requireAuth({ users, adminOnly: true });
  const context = (c: Context) => ({
    actor: c.var.user!.username,
    address: clientAddress(c),
    ifMatch: c.req.header('if-match'),
  });

  app.get('/', certificatesDocs.active, anyUser, async (c) => {
    const active = await certificates.active();
    // For automation: the value to send back in If-Match.
    c.header('ETag', `"${active.fingerprint_sha256}"`);
    return reply(c, { certificates: [active] });
  });

  app.get('/history', certificatesDocs.history, anyUser, async (c) => reply(c, { certificates: await certificates.history() }));

  // Kept from the WhatsApp API: 404 with an empty body when there is nothing to return.
  app.get('/ca', certificatesDocs.ca, anyUser, async (c) => {
    const pem = await certificates.intermediatesPem();
    if (pem === null) return c.body(null, 404);
    return c.text(pem, 200, { 'Content-Type': 'text/plain; charset=utf-8' });
  });

  app.post('/', certificatesDocs.upload, admin, query(uploadQuery), headers(ifMatchHeaders), limitConcurrentUploads({ perClient: uploadsPerClient }), bundleContentType, async (c) => {
    const bundle = await readBundle(c);
    if (c.req.valid('query').dry_run === 'true') return reply(c, { report: await certificates.dryRun(bundle) });
    const result = await certificates.upload(bundle, context(c));
    if (result.timings) {
      const t = result.timings;
      c.header('Server-Timing', `validate;dur=${t.validateMs.toFixed(2)}, canary;dur=${t.canaryMs.toFixed(2)}, pool;dur=${t.poolMs.toFixed(2)}, queue;dur=${t.queueMs.toFixed(2)}, prepare;dur=${t.prepareMs.toFixed(2)}, commit;dur=${t.commitMs.toFixed(2)}, swap;dur=${t.swapMs.toFixed(2)}, total;dur=${t.totalMs.toFixed(2)}`);
    }
    c.header('ETag', `"${result.view.fingerprint_sha256}"`);
    return json(c, null, 201);
  });

  app.post('/rollback', certificatesDocs.rollback, admin, headers(ifMatchHeaders), jsonBody(rollbackBody), async (c) => {
    const view = await certificates.rollback(c.req.valid('json').version, context(c));
    return reply(c, { certificates: [view] });
  });

  app.delete('/', certificatesDocs.reset, admin, headers(ifMatchHeaders), async (c) => {
    await certificates.reset(context(c));
    return json(c, null, 200);
  });

  return app;
}
