import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer, peerCertificate, request } from '../helpers/https-client.js';
import { createChain } from '../helpers/pki.js';
import { spawnServer } from '../helpers/spawn-server.js';
import { startUpstream, type UpstreamApp } from './upstream-app.js';
import { connectWebSocket } from './websocket.js';

describe('`hotcert serve` with UPSTREAM', () => {
  let upstream: UpstreamApp;
  beforeAll(async () => {
    upstream = await startUpstream();
  });
  afterAll(() => upstream?.close());

  it.each([1, 2])('fronts the application with WORKERS=%i, through an upload, and stops cleanly with a tunnel open', async (workers) => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-proxy-proc-'));
    const server = await spawnServer({ DATA_DIR: dataDir, UPSTREAM: upstream.url, WORKERS: String(workers) }, { listenings: workers });
    try {
      expect(server.listening).toMatchObject({ upstream: upstream.url });
      for (let i = 0; i < 4; i++) {
        const res = await request(server.port, 'GET', `/app/${i}`, { headers: { 'X-Request-Id': `proc-${workers}-${i}` } });
        expect(res.status).toBe(200);
        expect(res.json.url).toBe(`/app/${i}`);
      }
      const ws = await connectWebSocket(server.port, '/ws');
      expect(await ws.echo('through the process')).toBe('through the process');

      let login = await request(server.port, 'POST', '/v1/users/login', {
        headers: { Authorization: basic('admin', 'secret'), 'Content-Type': 'application/json' },
        body: JSON.stringify({ new_password: 'Proxy-Passw0rd!' }),
      });
      if (login.status !== 200) login = await request(server.port, 'POST', '/v1/users/login', { headers: { Authorization: basic('admin', 'Proxy-Passw0rd!') } });
      const token = login.json.users[0].token as string;
      const chain = await createChain();
      const upload = await request(server.port, 'POST', '/v1/certificates/external', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body: chain.bundle });
      expect(upload.status).toBe(201);
      // Every worker serves it (each picks the change up from the database), and the application still answers.
      const expected = chain.leaf.cert.fingerprint256.replaceAll(':', '').toLowerCase();
      for (let tries = 0; tries < 200; tries++) {
        const peers = await Promise.all(Array.from({ length: 2 * workers }, () => peerCertificate(server.port)));
        if (peers.every((peer) => peer.fingerprint === expected)) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect((await peerCertificate(server.port)).fingerprint).toBe(expected);
      expect((await request(server.port, 'GET', '/app/after-upload')).status).toBe(200);
      expect(await ws.echo('after the upload')).toBe('after the upload');

      const proxied = server.logs.filter((line) => line.event === 'http.request' && line.route === 'proxy');
      expect(proxied.map((line) => line.request_id)).toEqual(expect.arrayContaining([`proc-${workers}-0`, `proc-${workers}-3`]));
      expect(await server.stop('SIGTERM')).toBe(0);
    } finally {
      await server.stop('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
