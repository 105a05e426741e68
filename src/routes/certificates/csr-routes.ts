import { Hono } from 'hono';
import type { CsrService } from '../../certificates/csr-service.js';
import { requireAuth } from '../../http/auth.js';
import { clientAddress } from '../../http/client-address.js';
import { notFound } from '../../http/errors.js';
import { jsonBody, params } from '../../http/validated-input.js';
import { json, reply } from '../../http/respond.js';
import type { UserService } from '../../users/user-service.js';
import { csrDocs, csrParams, csrRequest } from './csr-openapi.js';

/** `/v1/certificates/external/csr`: keys made by hotcert, waiting for their certificate. */
export function csrRoutes({ users, csr }: { users: UserService; csr: CsrService }) {
  const app = new Hono();
  const admin = requireAuth({ users, adminOnly: true });

  app.post('/', csrDocs.create, admin, jsonBody(csrRequest, { required: true }), async (c) => {
    const body = c.req.valid('json');
    const created = await csr.create({ names: body.names, keyType: body.key_type }, { actor: c.var.user!.username, address: clientAddress(c) });
    return reply(c, { csrs: [created] }, 201);
  });

  app.get('/', csrDocs.list, admin, async (c) => reply(c, { csrs: await csr.list() }));

  app.delete('/:id', csrDocs.discard, admin, params(csrParams), async (c) => {
    const id = Number(c.req.valid('param').id);
    if (!(await csr.discard(id, { actor: c.var.user!.username, address: clientAddress(c) }))) throw notFound(`there is no pending CSR ${id} (used, expired or discarded)`);
    return json(c, null, 200);
  });

  return app;
}
