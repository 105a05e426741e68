import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { certificateVersions } from '../../db/schema.js';
import { emptyResponse, errorResponses, jsonResponse, nullResponse, textResponse, withMeta } from '../../openapi/responses.js';

const tags = ['certificates'];

export const findingSchema = z
  .object({ rule: z.string(), message: z.string(), block: z.number().int().min(1).optional() })
  .meta({ id: 'Finding', description: 'One problem or remark; `block` is the 1-based PEM block in upload order.' });

const chainEntry = z.object({ subject: z.string(), issuer: z.string(), not_after: z.string(), fingerprint_sha256: z.string() }).meta({ id: 'ChainEntry' });

const summary = {
  subject: z.string(),
  issuer: z.string(),
  serial: z.string().meta({ description: 'Lower-case hex.' }),
  sans: z.array(z.string()),
  not_before: z.string().meta({ description: 'ISO 8601 UTC.' }),
  not_after: z.string().meta({ description: 'ISO 8601 UTC.' }),
  fingerprint_sha256: z.string().meta({ description: '64 lower-case hex characters, no colons; the value for If-Match.' }),
  key_type: z.string().meta({ examples: ['RSA-2048', 'EC-P256', 'Ed25519'] }),
};

export const versionSchema = z
  .object({
    version: z.number().int(),
    active: z.boolean(),
    source: z.enum(certificateVersions.source.enumValues),
    ...summary,
    chain: z.array(chainEntry),
    created_at: z.string(),
    created_by: z.string(),
    warnings: z.array(findingSchema),
  })
  .meta({ id: 'CertificateVersion', description: 'A stored version; never holds a private key.' });

const versionsAnswer = withMeta({ certificates: z.array(versionSchema) }).meta({ id: 'CertificateVersions' });

const reportSchema = z
  .object({ valid: z.boolean(), errors: z.array(findingSchema), warnings: z.array(findingSchema), certificate: z.object({ ...summary, chain: z.array(chainEntry) }).optional() })
  .meta({ id: 'DryRunReport' });

const dryRunRule = 'dry_run must be true or false';
export const uploadQuery = z.object({
  dry_run: z
    .enum(['true', 'false'], { error: dryRunRule })
    .optional()
    .meta({ description: '`true`: validate only, store nothing, answer the report.' }),
});

export const ifMatchHeaders = z.object({
  'if-match': z
    .string()
    .optional()
    .meta({ description: 'The fingerprint_sha256 (or ETag) of the active certificate: change only if it is still active, else 412.' }),
});

const versionRule = 'version must be a positive whole number';
export const rollbackBody = z
  .object({
    version: z
      .number({ error: versionRule })
      .int({ error: versionRule, abort: true })
      .min(1, { error: versionRule })
      .optional()
      .meta({ description: 'The version to serve again; default: the newest earlier version with another certificate.' }),
  })
  .meta({ id: 'RollbackRequest' });

const etag = { ETag: { description: '"<fingerprint_sha256>" of the active certificate, for If-Match.', schema: { type: 'string' as const } } };

export const certificatesDocs = {
  active: describeRoute({
    tags,
    summary: 'The active certificate',
    responses: { 200: jsonResponse(versionsAnswer, 'The version being served.', etag), ...errorResponses([503], { 503: 'No certificate is active yet.' }) },
  }),
  history: describeRoute({
    tags,
    summary: 'Every version, newest first',
    responses: { 200: jsonResponse(versionsAnswer, 'All versions.') },
  }),
  ca: describeRoute({
    tags,
    summary: 'The intermediates of the active bundle (PEM)',
    responses: {
      200: textResponse('The intermediate certificates, PEM.'),
      404: emptyResponse('The active certificate has no intermediates (the self-signed default). Empty body, kept from the WhatsApp API.'),
    },
  }),
  upload: describeRoute({
    tags,
    summary: 'Upload a PEM bundle: key, server certificate, intermediates',
    description: 'Validated in a worker pool and proven by a TLS handshake before anything is stored; 201 once it is stored and served.',
    responses: {
      200: jsonResponse(withMeta({ report: reportSchema }).meta({ id: 'DryRunAnswer' }), '`?dry_run=true`: the validation report (valid or not); nothing stored.'),
      201: {
        ...nullResponse('Stored and served.'),
        headers: { ...etag, 'Server-Timing': { description: 'validate, canary, pool, queue, commit, swap, total (ms).', schema: { type: 'string' as const } } },
      },
      ...errorResponses([400, 412, 429, 503], {
        400: 'The bundle is rejected (one entry per problem), the body is empty (1008) or dry_run is not true/false.',
        429: 'Too many uploads in flight from this client.',
      }),
    },
  }),
  rollback: describeRoute({
    tags,
    summary: 'Serve an earlier version again',
    description: 'Re-validated first (an expired version is refused); adds a new version with source `rollback`.',
    responses: { 200: jsonResponse(versionsAnswer, 'The version now served.'), ...errorResponses([400, 404, 412, 503], { 404: 'No such version, or none earlier.' }) },
  }),
  reset: describeRoute({
    tags,
    summary: 'Reset to a fresh self-signed default',
    responses: { 200: nullResponse('The self-signed default is served.'), ...errorResponses([412, 503]) },
  }),
};
