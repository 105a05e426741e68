import { Hono } from 'hono';
import type { AuditRepo } from '../../db/audit-repo.js';
import { requireAuth } from '../../http/auth.js';
import { reply } from '../../http/respond.js';
import { query } from '../../http/validated-input.js';
import type { UserService } from '../../users/user-service.js';
import { auditDocs, auditQuery } from './audit-openapi.js';

export function auditRoutes({ users, audit }: { users: UserService; audit: AuditRepo }) {
  const app = new Hono();
  app.get('/', auditDocs, requireAuth({ users, adminOnly: true }), query(auditQuery), (c) => {
    return reply(c, { audit: audit.recent(Number(c.req.valid('query').limit ?? '100')) });
  });
  return app;
}
