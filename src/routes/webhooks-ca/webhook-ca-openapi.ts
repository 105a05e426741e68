import { describeRoute } from 'hono-openapi';
import { emptyResponse, errorResponses, nullResponse, textResponse } from '../../openapi/responses.js';

const tags = ['webhooks CA'];

export const webhookCaDocs = {
  get: describeRoute({
    tags,
    summary: 'The trust store for outgoing HTTPS calls (PEM)',
    responses: { 200: textResponse('The uploaded certificates, PEM.'), 404: emptyResponse('Nothing uploaded. Empty body, kept from the WhatsApp API.') },
  }),
  set: describeRoute({
    tags,
    summary: 'Replace the trust store: one or more CERTIFICATE blocks',
    description: 'Each block must be an X.509 certificate valid now; a non-CA certificate is accepted with a warning (in the audit row and the log).',
    responses: { 201: nullResponse('Stored.'), ...errorResponses([400], { 400: 'A block is not a certificate valid now (one entry per problem), or the body is empty (1008).' }) },
  }),
  delete: describeRoute({ tags, summary: 'Remove the trust store', responses: { 200: nullResponse('Removed.') } }),
};
