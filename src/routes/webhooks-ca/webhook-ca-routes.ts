import { Hono } from 'hono';
import type { WebhookCaService } from '../../certificates/webhook-ca-service.js';
import { requireAuth } from '../../http/auth.js';
import { clientAddress } from '../../http/client-address.js';
import { pemContentType, readPem } from '../../http/pem-body.js';
import { json } from '../../http/respond.js';
import type { UserService } from '../../users/user-service.js';
import { webhookCaDocs } from './webhook-ca-openapi.js';

export function webhookCaRoutes({ users, webhookCa }: { users: UserService; webhookCa: WebhookCaService }) {
  const app = new Hono();
  const admin = requireAuth({ users, adminOnly: true });

  app.get('/', webhookCaDocs.get, admin, async (c) => {
    const pem = await webhookCa.get();
    if (pem === null) return c.body(null, 404);
    return c.text(pem, 200, { 'Content-Type': 'text/plain; charset=utf-8' });
  });

  app.post('/', webhookCaDocs.set, admin, pemContentType, async (c) => {
    const bytes = await readPem(c);
    await webhookCa.set(bytes, { actor: c.var.user!.username, address: clientAddress(c) });
    return json(c, null, 201);
  });

  app.delete('/', webhookCaDocs.delete, admin, async (c) => {
    await webhookCa.delete({ actor: c.var.user!.username, address: clientAddress(c) });
    return json(c, null, 200);
  });

  return app;
}
