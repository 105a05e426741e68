import type { AuditStore } from '../../db/ports.js';
import { Hono } from 'hono';

import { requireAuth } from '../../http/auth.js';
import { reply } from '../../http/respond.js';
import { query } from '../../http/validated-input.js';
import type { UserService } from '../../users/user-service.js';
import { auditDocs, auditQuery } from './audit-openapi.js';

export function auditRoutes({ users, audit }: { users: UserService; audit: AuditStore }) {
  const app = new Hono();
  app.get('/', auditDocs, requireAuth({ users, adminOnly: true }), query(auditQuery), async (c) => {
    return reply(c, { audit: await audit.recent(Number(c.req.valid('query').limit ?? '100')) });
  });
  return app;
}
