import { Hono, type Context } from 'hono';
import { ApiError, notFound } from '../http/errors.js';
import { params } from '../http/validated-input.js';
import { loadAdminAssets, type AdminAsset } from './admin-assets.js';
import { adminAssetParams, adminDocs } from './admin-openapi.js';

/** Scripts, styles and calls from this origin only; no inline code, no framing, no HTML built from strings. */
export const ADMIN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

function serve(c: Context, asset: AdminAsset): Response {
  return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
    'Content-Type': asset.contentType,
    'Content-Security-Policy': ADMIN_CSP,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  });
}

/** The admin page: static files from public/admin that call the /v1 API with a bearer token held in memory. */
export function adminRoutes({ assets = loadAdminAssets() }: { assets?: Map<string, AdminAsset> } = {}) {
  const app = new Hono();
  const page = (c: Context) => {
    const index = assets.get('index.html');
    // A broken installation, not a missing resource; the API itself keeps working.
    if (!index) throw new ApiError(500, 'internal', 'the admin page files (public/admin) are missing from this installation');
    return serve(c, index);
  };
  app.get('/', adminDocs.page, page);
  app.get('/assets/:name', adminDocs.asset, params(adminAssetParams), (c) => {
    const { name } = c.req.valid('param');
    const asset = name === 'index.html' ? undefined : assets.get(name);
    if (!asset) throw notFound(`no admin file ${name}`);
    return serve(c, asset);
  });
  return app;
}
