import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { referenceAssetNames } from '../../openapi/reference-page.js';
import { errorResponses, jsonResponse, textResponse } from '../../openapi/responses.js';

const tags = ['API reference'];

export const assetParams = z.object({ asset: z.enum(referenceAssetNames, { error: 'not an asset of the reference page' }) });

export const apiReferenceDocs = {
  document: describeRoute({
    tags,
    summary: 'This OpenAPI 3.1 document',
    description: 'Generated from the schemas the routes validate with. No auth: it holds no secret.',
    security: [],
    responses: { 200: jsonResponse(z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) }), 'The document.') },
  }),
  page: describeRoute({
    tags,
    summary: 'Interactive API reference (Swagger UI)',
    description: 'Served from the swagger-ui-dist package bundled with hotcert; loads nothing from elsewhere. No auth.',
    security: [],
    responses: { 200: textResponse('The page.', 'text/html') },
  }),
  asset: describeRoute({
    tags,
    summary: 'A script, style sheet or icon of the reference page',
    security: [],
    responses: {
      200: {
        description: 'The asset.',
        content: { 'text/css': { schema: { type: 'string' } }, 'text/javascript': { schema: { type: 'string' } }, 'image/png': { schema: { type: 'string', format: 'binary' } } },
      },
      ...errorResponses([400], { 400: 'Not an asset of the page.' }),
    },
  }),
};
