import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface AdminAsset {
  body: Uint8Array;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * `public/admin/` at the package root, found from this module both in src/ (tests) and in dist/src/ (npm start):
 * the files are served as written, so there is no build step for them.
 */
export function adminAssetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = import.meta.url.endsWith('.js') ? ['..', '..', '..'] : ['..', '..'];
  return path.resolve(here, ...up, 'public', 'admin');
}

/** Reads every servable file once; a missing directory gives an empty map (the page then answers 404, the API still runs). */
export function loadAdminAssets(dir = adminAssetsDir()): Map<string, AdminAsset> {
  const assets = new Map<string, AdminAsset>();
  if (!existsSync(dir)) return assets;
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[path.extname(name)];
    if (contentType && /^[a-z0-9-]+\.[a-z]+$/.test(name)) assets.set(name, { body: readFileSync(path.join(dir, name)), contentType });
  }
  return assets;
}
