import { Hono } from 'hono';
import type { AuditRepo } from '../../db/audit-repo.js';
import { requireAuth } from '../../http/auth.js';
import { invalid } from '../../http/errors.js';
import { reply } from '../../http/respond.js';
import type { UserService } from '../../users/user-service.js';

export function auditRoutes({ users, audit }: { users: UserService; audit: AuditRepo }) {
  const app = new Hono();
  app.get('/', requireAuth({ users, adminOnly: true }), (c) => {
    const raw = c.req.query('limit') ?? '100';
    const limit = Number(raw);
    if (!/^\d+$/.test(raw) || limit < 1 || limit > 1000) throw invalid('limit must be a whole number from 1 to 1000');
    return reply(c, { audit: audit.recent(limit) });
  });
  return app;
}
