import { Hono } from 'hono';
import { parseBasic, requireAuth } from '../../http/auth.js';
import { clientAddress } from '../../http/client-address.js';
import { readJsonObject } from '../../http/read-json.js';
import { reply } from '../../http/respond.js';
import type { UserService } from '../../users/user-service.js';

export function usersRoutes({ users }: { users: UserService }) {
  const app = new Hono();
  const auth = requireAuth({ users });

  app.post('/login', async (c) => {
    const credentials = parseBasic(c.req.header('authorization'));
    const body = await readJsonObject(c);
    const { token, expiresAfter } = await users.login(credentials, body.new_password, clientAddress(c));
    return reply(c, { users: [{ token, expires_after: expiresAfter }] });
  });

  app.post('/logout', auth, (c) => {
    users.logout(c.var.user!, clientAddress(c));
    return reply(c, {});
  });

  app.post('/', auth, async (c) => {
    const body = await readJsonObject(c, { required: true });
    const created = await users.create(c.var.user!, body, clientAddress(c));
    return reply(c, { users: [created] }, 201);
  });

  app.get('/:name', auth, (c) => reply(c, { users: [users.get(c.var.user!, c.req.param('name'))] }));

  app.put('/:name', auth, async (c) => {
    const body = await readJsonObject(c, { required: true });
    const updated = await users.update(c.var.user!, c.req.param('name'), body, clientAddress(c));
    return reply(c, { users: [updated] });
  });

  app.delete('/:name', auth, (c) => {
    users.delete(c.var.user!, c.req.param('name'), clientAddress(c));
    return reply(c, { users: [{ username: c.req.param('name') }] });
  });

  return app;
}
