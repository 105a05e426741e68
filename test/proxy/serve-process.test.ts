import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, bearer, peerCertificate, request } from '../helpers/https-client.js';
import { createChain } from '../helpers/pki.js';
import { servedByEveryProcess, spawnServer } from '../helpers/spawn-server.js';
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

      const token = await adminToken(server.port);
      const chain = await createChain();
      const upload = await request(server.port, 'POST', '/v1/certificates/external', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body: chain.bundle });
      expect(upload.status).toBe(201);
      // Every worker serves it (each picks the change up from the database), and the application still answers.
      const expected = chain.leaf.cert.fingerprint256.replaceAll(':', '').toLowerCase();
      await servedByEveryProcess(server, expected);
      const peers = await Promise.all(Array.from({ length: 2 * workers }, () => peerCertificate(server.port)));
      expect(peers.map((peer) => peer.fingerprint)).toEqual(peers.map(() => expected));
      expect((await request(server.port, 'GET', '/app/after-upload')).status).toBe(200);
      expect(await ws.echo('after the upload')).toBe('after the upload');

      const proxied = server.logs.filter((line) => line.event === 'http.request' && line.route === 'proxy');
      expect(proxied.map((line) => line.request_id)).toEqual(expect.arrayContaining([`proc-${workers}-0`, `proc-${workers}-3`]));
      await server.stop('SIGTERM');
      expect(server.child.exitCode).toBe(0);
    } finally {
      await server.stop('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
