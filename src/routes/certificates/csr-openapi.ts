import { describeRoute } from 'hono-openapi';
import { isIP } from 'node:net';
import { z } from 'zod';
import { CSR_KEY_TYPES } from '../../certificates/csr-service.js';
import { errorResponses, jsonResponse, nullResponse, withMeta } from '../../openapi/responses.js';

const tags = ['certificates'];
const MAX_NAMES = 100;

/** A DNS name (a leading `*.` allowed), as a CA would accept it in subjectAltName. */
const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
export const isCsrName = (name: string) => isIP(name) !== 0 || (name.length <= 253 && DNS_NAME.test(name));

const namesRule = `names must be a list of 1 to ${MAX_NAMES} DNS names or IP addresses (such as "example.com", "*.example.com", "192.0.2.1"); the first one becomes the CN`;
export const csrRequest = z
  .object({
    names: z
      .array(z.string({ error: namesRule }), { error: namesRule })
      .min(1, { error: namesRule })
      .max(MAX_NAMES, { error: namesRule })
      .superRefine((names, ctx) => {
        names.forEach((name, index) => {
          if (!isCsrName(name)) ctx.addIssue({ code: 'custom', path: [index], message: `names[${index}] is not a DNS name or an IP address; ${namesRule}` });
        });
      })
      .meta({ description: 'DNS names (a leading `*.` for a wildcard) or IP addresses: all in subjectAltName, the first also the subject CN.', examples: [['example.com', 'www.example.com']] }),
    key_type: z
      .enum(CSR_KEY_TYPES, { error: `key_type must be one of ${CSR_KEY_TYPES.join(', ')}` })
      .default('ec-p256')
      .meta({ description: 'The key hotcert generates and keeps; default ec-p256.' }),
  })
  .meta({ id: 'CsrRequest' });

export const pendingCsrSchema = z
  .object({
    id: z.number().int(),
    names: z.array(z.string()),
    key_type: z.enum(CSR_KEY_TYPES),
    public_key_sha256: z.string().meta({ description: 'SHA-256 of the public key (SubjectPublicKeyInfo), 64 lower-case hex characters.' }),
    csr: z.string().meta({ description: 'The PKCS#10 request, PEM: give it to the CA.' }),
    created_at: z.string(),
    created_by: z.string(),
    expires_at: z.string().meta({ description: 'After this, the key is deleted and a certificate for it can no longer be uploaded without a key.' }),
  })
  .meta({ id: 'PendingCsr', description: 'A CSR whose private key hotcert keeps (sealed) until its certificate is uploaded; never holds the key.' });

const pendingAnswer = withMeta({ csrs: z.array(pendingCsrSchema) }).meta({ id: 'PendingCsrs' });

const idRule = 'id must be the positive whole number of a pending CSR';
export const csrParams = z.object({
  id: z.string().regex(/^[1-9][0-9]{0,15}$/, { error: idRule }).meta({ description: 'The `id` of a pending CSR.' }),
});

export const csrDocs = {
  create: describeRoute({
    tags,
    summary: 'Generate a key inside hotcert and answer its CSR',
    description:
      'The private key never leaves hotcert: it is stored sealed with the master key. Upload the certificate the CA issues (with its intermediates, no key) to POST /v1/certificates/external; it is matched to this key by its public key.',
    responses: { 201: jsonResponse(pendingAnswer, 'The CSR (PEM) and its pending entry.'), ...errorResponses([400], { 400: 'A name is not a DNS name or IP address, or key_type is unknown.' }) },
  }),
  discard: describeRoute({
    tags,
    summary: 'Discard a pending CSR and delete its key',
    description: 'A certificate issued for it can then no longer be uploaded without a key.',
    responses: { 200: nullResponse('Deleted.'), ...errorResponses([400, 404], { 400: 'id is not a whole number.', 404: 'No such pending CSR (used, expired or discarded).' }) },
  }),
  list: describeRoute({
    tags,
    summary: 'CSRs whose certificate has not been uploaded yet',
    responses: { 200: jsonResponse(pendingAnswer, 'Pending CSRs, oldest first (expired ones are left out); never a key.') },
  }),
};
