import { describeRoute } from 'hono-openapi';
import { errorResponses, textResponse } from '../openapi/responses.js';

const tags = ['admin page'];

export const adminDocs = {
  page: describeRoute({
    tags,
    summary: 'The admin page (static; it calls the /v1 API with a bearer token)',
    description: 'No auth to load the page itself: it holds no data until someone logs in.',
    security: [],
    responses: { 200: textResponse('The page.', 'text/html'), ...errorResponses([404], { 404: 'The page files (public/admin) are missing from this installation.' }) },
  }),
  asset: describeRoute({
    tags,
    summary: 'A script, style sheet or icon of the admin page',
    security: [],
    responses: {
      200: {
        description: 'The file.',
        content: { 'text/css': { schema: { type: 'string' } }, 'text/javascript': { schema: { type: 'string' } }, 'image/svg+xml': { schema: { type: 'string' } } },
      },
      ...errorResponses([404], { 404: 'No such file.' }),
    },
  }),
};
