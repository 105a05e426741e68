import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { errorResponses, textResponse } from '../openapi/responses.js';

const tags = ['Admin page'];

export const adminAssetParams = z.object({ name: z.string().meta({ description: 'A file of the page, e.g. main.js, admin.css.' }) });

export const adminDocs = {
  page: describeRoute({
    tags,
    summary: 'The admin page',
    description: 'Static HTML that loads only its own scripts and styles (strict CSP) and calls this API with a bearer token kept in memory. No auth to load it.',
    security: [],
    responses: { 200: textResponse('The page.', 'text/html'), ...errorResponses([500], { 500: 'The page files are missing from this installation.' }) },
  }),
  asset: describeRoute({
    tags,
    summary: 'A script, style sheet or icon of the admin page',
    security: [],
    responses: {
      200: {
        description: 'The file.',
        content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } }, 'image/svg+xml': { schema: { type: 'string' } } },
      },
      ...errorResponses([404], { 404: 'Not a file of the page.' }),
    },
  }),
};
