import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { ACME_KEY_TYPES } from '../../acme/acme-config.js';
import { errorResponses, jsonResponse, withMeta } from '../../openapi/responses.js';

const tags = ['certificates'];

const settingsSchema = z
  .object({
    directory_url: z.string(),
    email: z.string().nullable(),
    domains: z.array(z.string()),
    directory_ca_file: z.string().nullable().meta({ description: 'PEM file with the CA of a private ACME server (added to the system roots; verification stays on).' }),
    eab_kid: z.string().nullable(),
    eab_hmac_key_set: z.boolean().meta({ description: 'Whether an external account binding HMAC key is set; the key itself is never shown.' }),
    key_type: z.enum(ACME_KEY_TYPES),
    http_port: z.number().int().nullable(),
    challenge: z.enum(['tls-alpn-01', 'http-01']).meta({ description: '`http-01` when http_port is set, `tls-alpn-01` on hotcert\'s own port otherwise.' }),
  })
  .meta({ id: 'AcmeSettings' });

export const acmeStatusSchema = z
  .object({
    configured: z.boolean(),
    origin: z.enum(['env', 'api']).nullable().meta({ description: '`api`: set through PUT/PATCH (stored, wins over ACME_* variables); `env`: from the variables.' }),
    mode: z.enum(['acme', 'manual', 'off']).meta({ description: '`acme`: ACME issues and renews; `manual`: an uploaded certificate that covers the domains is active and ACME leaves it alone; `off`: not configured.' }),
    problem: z.string().optional(),
    config: settingsSchema.nullable(),
    account_url: z.string().nullable(),
    active_version: z.number().int().nullable(),
    active_source: z.string().nullable(),
    next_renewal_at: z.string().nullable(),
    renewing: z.boolean().meta({ description: 'A process holds the renewal lease now.' }),
    last_attempt_at: z.string().nullable(),
    last_error: z.string().nullable(),
    last_success_at: z.string().nullable(),
    consecutive_failures: z.number().int(),
  })
  .meta({ id: 'AcmeStatus' });

export const acmeHealthSchema = z
  .object({
    status: z.enum(['ok', 'failing', 'misconfigured']),
    mode: z.enum(['acme', 'manual', 'off']),
    domains: z.array(z.string()).optional(),
    next_renewal_at: z.string().nullable().optional(),
    last_attempt_at: z.string().nullable().optional(),
    last_error: z.string().nullable().optional(),
    consecutive_failures: z.number().int().optional(),
    reason: z.string().optional(),
  })
  .nullable()
  .meta({ description: 'ACME renewal (null when ACME is not configured): `failing` after a failed attempt, while the current certificate keeps being served.' });

const optionalText = (description: string) => z.string().max(2048).nullable().optional().meta({ description });
export const acmeConfigRequest = z
  .object({
    directory_url: optionalText('https:// URL of the ACME directory (required for PUT).'),
    email: optionalText('Contact e-mail for the ACME account.'),
    domains: z.array(z.string().max(253)).max(100).optional().meta({ description: 'DNS names for the certificate (required for PUT).' }),
    directory_ca_file: optionalText('Path of a PEM file on the server with the CA of a private ACME server.'),
    eab_kid: optionalText('External account binding key id.'),
    eab_hmac_key: optionalText('External account binding HMAC key (base64url); write-only.'),
    key_type: z.enum(ACME_KEY_TYPES).optional(),
    http_port: z.number().int().min(1).max(65535).nullable().optional().meta({ description: 'Plain-HTTP port for HTTP-01; null: TLS-ALPN-01 on hotcert\'s port.' }),
  })
  .strict()
  .meta({ id: 'AcmeConfigRequest' });

const statusAnswer = withMeta({ acme: acmeStatusSchema }).meta({ id: 'AcmeAnswer' });
const renewAnswer = withMeta({
  renewal: z.object({ renewed: z.boolean(), version: z.number().int().nullable(), error: z.string().nullable() }),
  acme: acmeStatusSchema,
}).meta({ id: 'AcmeRenewAnswer' });

export const acmeDocs = {
  get: describeRoute({
    tags,
    summary: 'ACME configuration (without secrets), account, next renewal and the last attempt',
    responses: { 200: jsonResponse(statusAnswer, 'The ACME state as this process sees it.') },
  }),
  renew: describeRoute({
    tags,
    summary: 'Order a certificate from the ACME CA now',
    description:
      'Runs one order whatever the schedule or mode says; the certificate goes through the upload pipeline (validation, canary, commit, swap) and becomes a version with source `acme`. A failed attempt answers 200 with `renewed: false` and the error (also in GET, /v1/health, the audit log and metrics); the current certificate keeps being served.',
    responses: {
      200: jsonResponse(renewAnswer, 'The attempt and the ACME state after it.'),
      ...errorResponses([400, 409], { 400: 'ACME is not configured.', 409: 'A renewal is already running in this or another process.' }),
    },
  }),
  put: describeRoute({
    tags,
    summary: 'Replace the ACME configuration (stored, wins over ACME_* variables)',
    responses: { 200: jsonResponse(statusAnswer, 'The new state.'), ...errorResponses([400], { 400: 'A value is invalid; nothing changed.' }) },
  }),
  patch: describeRoute({
    tags,
    summary: 'Change some ACME settings (merged into the current configuration)',
    responses: { 200: jsonResponse(statusAnswer, 'The new state.'), ...errorResponses([400], { 400: 'A value is invalid; nothing changed.' }) },
  }),
  delete: describeRoute({
    tags,
    summary: 'Forget the stored ACME configuration (back to the ACME_* variables)',
    responses: { 200: jsonResponse(statusAnswer, 'The state with the environment\'s configuration, or off.') },
  }),
};
