import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/https-client.js';
import { spawnServer, type SpawnedServer } from '../helpers/spawn-server.js';

// The compiled server (what npm start and the image run) serves the page: tsc does not copy public/, so this
// proves the files are found from dist/ as well as from src/.
describe('the admin page from the built server', () => {
  let server: SpawnedServer;
  let dataDir: string;
  const get = (p: string) => request(server.port, 'GET', p);

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-admin-'));
    server = await spawnServer({ DATA_DIR: dataDir });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the page and every file it loads, each under the strict CSP', async () => {
    const page = await get('/admin');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<form id="login-form"');
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.text).not.toMatch(/\sstyle=|<style/);

    const entry = [...page.text.matchAll(/(?:src|href)="(\/admin\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(entry).toEqual(expect.arrayContaining(['/admin/assets/main.js', '/admin/assets/admin.css']));
    const seen = new Set<string>();
    const queue = [...entry];
    while (queue.length > 0) {
      const url = queue.shift()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const res = await get(url);
      expect(res.status, url).toBe(200);
      expect(res.headers['content-security-policy'], url).toContain("script-src 'self'");
      if (url.endsWith('.js')) {
        expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
        for (const m of res.text.matchAll(/from '\.\/([a-z0-9-]+\.js)'/g)) queue.push(`/admin/assets/${m[1]}`);
      }
    }
    expect(seen.size).toBeGreaterThanOrEqual(8);
  });

  it('answers 404 in the envelope for files that are not part of the page', async () => {
    for (const p of ['/admin/assets/nope.js', '/admin/assets/..%2F..%2Fpackage.json', '/admin/assets/%2e%2e%2fadmin-routes.js', '/admin/assets/index.html']) {
      const res = await get(p);
      expect(res.status, p).toBe(404);
      expect(res.json.errors[0].code, p).toBe(1006);
    }
  });
});
