import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { jsonResponse, withMeta } from '../../openapi/responses.js';
import { acmeHealthSchema } from '../acme/acme-openapi.js';

const tags = ['monitoring'];

const certificateHealth = z.object({
  status: z.enum(['ok', 'expiring', 'expired', 'fallback', 'out_of_sync']),
  version: z.number().int().nullable(),
  not_after: z.string().nullable(),
  fingerprint_sha256: z.string().nullable(),
  reason: z.string().optional().meta({ description: 'Why the server fell back (status `fallback`) or cannot serve the active version (status `out_of_sync`).' }),
});

export const healthDocs = {
  healthz: describeRoute({
    tags,
    summary: 'Liveness, no auth (the container HEALTHCHECK)',
    security: [],
    responses: { 200: jsonResponse(z.object({ status: z.literal('ok') }).meta({ id: 'Healthz' }), 'The server can serve. No `meta` here.') },
  }),
  health: describeRoute({
    tags,
    summary: 'Health and the served certificate',
    responses: {
      200: jsonResponse(withMeta({ health: z.object({
          webapp_status: z.enum(['ok', 'degraded']).meta({ description: '`degraded` while the data directory is full, read-only or gone (see `storage`), or the shared database is unreachable (see `database`).' }),
          storage: z.enum(['ok', 'full', 'read_only', 'missing']).meta({ description: 'The data directory: writes answer 507 unless `ok`.' }),
          database: z.enum(['ok', 'unreachable']).meta({ description: 'The shared database (PostgreSQL; always `ok` on SQLite): while `unreachable` the certificate keeps being served, reads with a recently verified token work, and writes answer 503 with `Retry-After`.' }),
          setup_required: z.boolean().meta({ description: 'True while the admin still has the default or a one-time password.' }),
          certificate: certificateHealth,
          acme: acmeHealthSchema,
        }) }).meta({ id: 'HealthAnswer' }), 'Health.'),
    },
  }),
};
