import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { errorResponses, jsonResponse, withMeta } from '../../openapi/responses.js';

const limitRule = 'limit must be a whole number from 1 to 1000';
export const auditQuery = z.object({
  limit: z
    .string()
    .regex(/^\d{1,4}$/, limitRule)
    .refine((value) => Number(value) >= 1 && Number(value) <= 1000, limitRule)
    .optional()
    .meta({ description: 'How many entries, newest first: 1 to 1000 (default 100).' }),
});

const entry = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string(),
  client_address: z.string().nullable(),
  action: z.string(),
  fingerprint_sha256: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

export const auditDocs = describeRoute({
  tags: ['audit'],
  summary: 'The audit log, newest first (admin)',
  responses: { 200: jsonResponse(withMeta({ audit: z.array(entry) }).meta({ id: 'AuditAnswer' }), 'Audit entries.'), ...errorResponses([400]) },
});
