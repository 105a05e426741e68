import { Hono } from 'hono';
import { requireAuth } from '../../http/auth.js';
import { clientAddress } from '../../http/client-address.js';
import { reply } from '../../http/respond.js';
import { jsonBody, params, query } from '../../http/validated-input.js';
import type { UserService } from '../../users/user-service.js';
import type { WebhookService } from '../../webhooks/webhook-service.js';
import { createWebhookBody, deliveriesQuery, updateWebhookBody, webhookParams, webhooksDocs } from './webhooks-openapi.js';

/** `/v1/settings/webhooks`: WhatsApp-style answers, `{"webhooks": [...]}` and `{"deliveries": [...]}`. */
export function webhooksRoutes({ users, webhooks }: { users: UserService; webhooks: WebhookService }) {
  const app = new Hono();
  const admin = requireAuth({ users, adminOnly: true });

  app.get('/', webhooksDocs.list, admin, async (c) => reply(c, { webhooks: await webhooks.list() }));

  app.post('/', webhooksDocs.create, admin, jsonBody(createWebhookBody, { required: true }), async (c) => {
    const created = await webhooks.create(c.req.valid('json'), { actor: c.var.user!.username, address: clientAddress(c) });
    return reply(c, { webhooks: [created] }, 201);
  });

  app.get('/:id', webhooksDocs.get, admin, params(webhookParams), async (c) => reply(c, { webhooks: [await webhooks.get(c.req.valid('param').id)] }));

  app.patch('/:id', webhooksDocs.update, admin, params(webhookParams), jsonBody(updateWebhookBody, { required: true }), async (c) => {
    const updated = await webhooks.update(c.req.valid('param').id, c.req.valid('json'), { actor: c.var.user!.username, address: clientAddress(c) });
    return reply(c, { webhooks: [updated] });
  });

  app.delete('/:id', webhooksDocs.delete, admin, params(webhookParams), async (c) => {
    const { id } = c.req.valid('param');
    await webhooks.delete(id, { actor: c.var.user!.username, address: clientAddress(c) });
    return reply(c, { webhooks: [{ id }] });
  });

  app.get('/:id/deliveries', webhooksDocs.deliveries, admin, params(webhookParams), query(deliveriesQuery), async (c) => {
    const limit = Number(c.req.valid('query').limit ?? '50');
    return reply(c, { deliveries: await webhooks.deliveries(c.req.valid('param').id, limit) });
  });

  return app;
}
