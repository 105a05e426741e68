import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Swagger UI from the swagger-ui-dist package's own files: nothing comes from a CDN. */
const swaggerUiDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** Our page loads scripts and styles from hotcert only, and runs no inline script. */
export const referencePageCsp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const initScript = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/v1/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

export const referencePageHtml = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>hotcert API reference</title>
    <link rel="stylesheet" href="/v1/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/v1/docs/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/v1/docs/swagger-ui-bundle.js"></script>
    <script src="/v1/docs/init.js"></script>
  </body>
</html>
`;

const packaged = { 'swagger-ui.css': 'text/css; charset=utf-8', 'swagger-ui-bundle.js': 'text/javascript; charset=utf-8', 'favicon-32x32.png': 'image/png' } as const;

/** Every asset the page loads, by the name it is served under. */
export const referenceAssetNames = ['init.js', ...Object.keys(packaged)] as [string, ...string[]];

const loaded = new Map<string, Promise<Uint8Array>>();

export async function referenceAsset(name: string): Promise<{ body: Uint8Array | string; contentType: string }> {
  if (name === 'init.js') return { body: initScript, contentType: 'text/javascript; charset=utf-8' };
  const contentType = packaged[name as keyof typeof packaged];
  if (!contentType) throw new Error(`not a reference asset: ${name}`);
  let bytes = loaded.get(name);
  if (!bytes) {
    // Read once, on first use: the bundle is 1.5 MB that most servers never serve.
    bytes = readFile(path.join(swaggerUiDir, name));
    bytes.catch(() => loaded.delete(name));
    loaded.set(name, bytes);
  }
  return { body: await bytes, contentType };
}
