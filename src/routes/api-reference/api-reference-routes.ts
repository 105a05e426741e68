import { Hono } from 'hono';
import { json } from '../../http/respond.js';
import { params } from '../../http/validated-input.js';
import { openApiDocument, type DocumentOptions } from '../../openapi/openapi-document.js';
import { referenceAsset, referencePageCsp, referencePageHtml } from '../../openapi/reference-page.js';
import { apiReferenceDocs, assetParams } from './api-reference-openapi.js';

/** `/v1/openapi.json` and `/v1/docs`, describing `app` (the whole application, these routes included). */
export function apiReferenceRoutes({ app, ...options }: { app: Hono } & DocumentOptions) {
  const routes = new Hono();
  let document: Promise<object> | undefined;

  routes.get('/openapi.json', apiReferenceDocs.document, async (c) => {
    // Built on first use, when every route is registered; a failure is retried next time.
    document ??= openApiDocument(app, options).catch((error: unknown) => {
      document = undefined;
      throw error;
    });
    return json(c, await document);
  });

  routes.get('/docs', apiReferenceDocs.page, (c) => {
    c.header('Content-Security-Policy', referencePageCsp);
    return c.html(referencePageHtml);
  });

  routes.get('/docs/:asset', apiReferenceDocs.asset, params(assetParams), async (c) => {
    const { body, contentType } = await referenceAsset(c.req.valid('param').asset);
    c.header('Content-Security-Policy', referencePageCsp);
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(body as Uint8Array<ArrayBuffer> | string, 200, { 'Content-Type': contentType });
  });

  return routes;
}
