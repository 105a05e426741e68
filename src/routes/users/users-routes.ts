import { Hono } from 'hono';
import { parseBasic, requireAuth } from '../../http/auth.js';
import { clientAddress } from '../../http/client-address.js';
import { jsonBody, params } from '../../http/validated-input.js';
import { reply } from '../../http/respond.js';
import type { UserService } from '../../users/user-service.js';
import { createUserBody, loginBody, updateUserBody, userParams, usersDocs } from './users-openapi.js';

export function usersRoutes({ users }: { users: UserService }) {
  const app = new Hono();
  const auth = requireAuth({ users });
  const admin = requireAuth({ users, adminOnly: true });

  app.post('/login', usersDocs.login, jsonBody(loginBody), async (c) => {
    const credentials = parseBasic(c.req.header('authorization'));
    const { token, expiresAfter } = await users.login(credentials, c.req.valid('json').new_password, clientAddress(c));
    return reply(c, { users: [{ token, expires_after: expiresAfter }] });
  });

  app.post('/logout', usersDocs.logout, auth, async (c) => {
    await users.logout(c.var.user!, clientAddress(c));
    return reply(c, {});
  });

  app.post('/', usersDocs.create, admin, jsonBody(createUserBody, { required: true }), async (c) => {
    const created = await users.create(c.var.user!, c.req.valid('json'), clientAddress(c));
    return reply(c, { users: [created] }, 201);
  });

  app.get('/:name', usersDocs.get, auth, params(userParams), async (c) => reply(c, { users: [await users.get(c.var.user!, c.req.valid('param').name)] }));

  app.put('/:name', usersDocs.update, auth, params(userParams), jsonBody(updateUserBody, { required: true }), async (c) => {
    const updated = await users.update(c.var.user!, c.req.valid('param').name, c.req.valid('json'), clientAddress(c));
    return reply(c, { users: [updated] });
  });

  app.delete('/:name', usersDocs.delete, admin, params(userParams), async (c) => {
    await users.delete(c.var.user!, c.req.valid('param').name, clientAddress(c));
    return reply(c, { users: [{ username: c.req.valid('param').name }] });
  });

  return app;
}
