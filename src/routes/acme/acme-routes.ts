import { Hono, type Context } from 'hono';
import type { AcmeInput } from '../../acme/acme-config.js';
import type { AcmeService } from '../../acme/acme-service.js';
import { requireAuth } from '../../http/auth.js';
import { clientAddress } from '../../http/client-address.js';
import { jsonBody } from '../../http/validated-input.js';
import { reply } from '../../http/respond.js';
import type { UserService } from '../../users/user-service.js';
import { acmeConfigRequest, acmeDocs } from './acme-openapi.js';

/** null in the request means "unset": the same as leaving the variable empty. */
const toInput = (body: Record<string, unknown>): AcmeInput =>
  Object.fromEntries(Object.entries(body).map(([name, value]) => [name, value === null ? undefined : value])) as AcmeInput;

/** `/v1/certificates/acme`: admins read and change ACME, and renew now. */
export function acmeRoutes({ users, acme }: { users: UserService; acme: AcmeService }) {
  const app = new Hono();
  const admin = requireAuth({ users, adminOnly: true });
  const context = (c: Context) => ({ actor: c.var.user!.username, address: clientAddress(c) });

  app.get('/', acmeDocs.get, admin, async (c) => reply(c, { acme: await acme.status() }));

  app.post('/renew', acmeDocs.renew, admin, async (c) => {
    const renewal = await acme.renewNow(context(c));
    return reply(c, { renewal, acme: await acme.status() });
  });

  app.put('/', acmeDocs.put, admin, jsonBody(acmeConfigRequest, { required: true }), async (c) =>
    reply(c, { acme: await acme.configure(toInput(c.req.valid('json')), false, context(c)) }),
  );

  app.patch('/', acmeDocs.patch, admin, jsonBody(acmeConfigRequest, { required: true }), async (c) =>
    reply(c, { acme: await acme.configure(toInput(c.req.valid('json')), true, context(c)) }),
  );

  app.delete('/', acmeDocs.delete, admin, async (c) => reply(c, { acme: await acme.resetConfiguration(context(c)) }));

  return app;
}
