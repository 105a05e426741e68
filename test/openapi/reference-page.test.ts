import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/https-client.js';
import { spawnServer } from '../helpers/spawn-server.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

const run = promisify(execFile);

function findChromium(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      try {
        accessSync(path.join(dir, name), constants.X_OK);
        return path.join(dir, name);
      } catch {
        // keep looking
      }
    }
  }
  throw new Error('this test needs a headless browser: install the Debian package "chromium"');
}

describe('API reference page: /v1/docs', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('is served by hotcert with its assets, under a CSP without inline scripts, naming no other host', async () => {
    const page = await server.request('GET', '/v1/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(page.text).not.toMatch(/https?:\/\//i);
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(page.text).not.toMatch(/<style|\bstyle=|\bon[a-z]+=/i);

    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets).toEqual(expect.arrayContaining(['/v1/docs/swagger-ui-bundle.js', '/v1/docs/swagger-ui.css', '/v1/docs/init.js']));
    for (const asset of assets) {
      const res = await server.request('GET', asset);
      expect(res.status, asset).toBe(200);
      expect(res.headers['content-type'], asset).toMatch(asset.endsWith('.js') ? /^text\/javascript/ : asset.endsWith('.css') ? /^text\/css/ : /^image\/png/);
    }
    const init = await server.request('GET', '/v1/docs/init.js');
    expect(init.text).not.toMatch(/https?:\/\//i);
    expect(init.text).toContain("'/v1/openapi.json'");
    expect(init.text).toMatch(/validatorUrl: null/);
  });

  it('renders every operation in a real browser that may reach nothing but hotcert', async () => {
    const chromium = findChromium();
    const profile = mkdtempSync(path.join(os.tmpdir(), 'hotcert-chromium-'));
    try {
      const { stdout, stderr } = await run(
        chromium,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--ignore-certificate-errors',
          `--user-data-dir=${profile}`,
          // Any other host is unreachable, so a page that needed a CDN would render nothing.
          '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
          '--enable-logging=stderr',
          '--virtual-time-budget=20000',
          '--dump-dom',
          `https://127.0.0.1:${server.port}/v1/docs`,
        ],
        { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      );
      expect(stderr).not.toMatch(/Content Security Policy/i);
      expect(stdout).toContain('class="swagger-ui');
      for (const route of ['/v1/users/login', '/v1/certificates/external/rollback', '/v1/certificates/webhooks/ca', '/v1/openapi.json']) {
        expect(stdout, route).toContain(route);
      }
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it('works from the compiled package (`hotcert serve` from dist/, as in the Docker image)', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-docs-'));
    const running = await spawnServer({ DATA_DIR: dataDir });
    try {
      const document = await request(running.port, 'GET', '/v1/openapi.json');
      expect(document.status).toBe(200);
      expect(document.json.openapi).toBe('3.1.0');
      expect(Object.keys(document.json.paths)).toContain('/v1/docs');
      for (const asset of ['/v1/docs', '/v1/docs/swagger-ui-bundle.js', '/v1/docs/swagger-ui.css', '/v1/docs/init.js']) {
        const res = await request(running.port, 'GET', asset);
        expect(res.status, asset).toBe(200);
        expect(res.text.length, asset).toBeGreaterThan(100);
      }
    } finally {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
