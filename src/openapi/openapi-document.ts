import type { Hono } from 'hono';
import { generateSpecs } from 'hono-openapi';
import { packageVersion } from '../package-version.js';
import { errorResponses } from './responses.js';

export interface DocumentOptions {
  maxUploadBytes: number;
}

/**
 * The OpenAPI 3.1 document of `app`, generated from the describeRoute, validator and auth middleware
 * on its routes: the schemas that document a request are the ones that check it.
 */
export function openApiDocument(app: Hono, { maxUploadBytes }: DocumentOptions): Promise<object> {
  // What every route can answer because of app-wide middleware (limitBody, the storage check) and onError.
  const withBody = { responses: errorResponses([413, 500, 507], { 413: `The body is larger than ${maxUploadBytes} bytes (MAX_UPLOAD_BYTES).` }) };
  const withoutBody = { responses: errorResponses([500]) };
  return generateSpecs(app, {
    documentation: {
      openapi: '3.1.0',
      info: {
        title: 'hotcert',
        version: packageVersion,
        description:
          'HTTPS API server that owns its TLS identity. Wire-compatible with the certificate and user endpoints of the WhatsApp Business On-Premises API. Errors use the WhatsApp envelope `{"errors":[{code,title,details}],"meta":{…}}`; a known path asked with a method it does not have answers 405 with `Allow` in that envelope, an unknown path 404.',
      },
      tags: [
        { name: 'users', description: 'Login and user accounts.' },
        { name: 'certificates', description: 'The certificate hotcert serves.' },
        { name: 'webhooks CA', description: 'The trust store for outgoing HTTPS calls.' },
        { name: 'webhooks', description: 'HTTPS URLs that receive signed event notifications, and their delivery log.' },
        { name: 'monitoring', description: 'Health and metrics.' },
        { name: 'audit', description: 'Who changed what.' },
        { name: 'API reference', description: 'This document and its interactive page.' },
        { name: 'admin page', description: 'The browser page for administrators.' },
      ],
      components: {
        securitySchemes: {
          basicAuth: { type: 'http', scheme: 'basic', description: 'User name and password; only for POST /v1/users/login.' },
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'The token from POST /v1/users/login, valid 7 days.' },
          apiKeyAuth: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`Authorization: Apikey <API_KEY>`, when API_KEY is set; /v1/health and /v1/metrics only.' },
        },
      },
    },
    excludeStaticFile: false,
    defaultValidationErrorResponse: false,
    defaultOptions: { GET: withoutBody, POST: withBody, PUT: withBody, DELETE: withBody, PATCH: withBody },
  });
}
