import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, peerCertificate } from '../helpers/https-client.js';
import { createChain, leafFingerprint as fp } from '../helpers/pki.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait.js';

const events = (server: TestServer, event: string) =>
  server.logs.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === event);

async function syncActivations(server: TestServer, token: string): Promise<number> {
  const text = (await server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(token) })).text;
  return Number(/^hotcert_certificate_activations_total\{way="sync"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

describe('certificate and webhook-CA changes have separate generations (two servers on one data directory)', () => {
  let dataDir: string;
  let a: TestServer;
  let b: TestServer;
  let token: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-generations-'));
    a = await startTestServer({ dataDir });
    token = await a.adminToken();
    b = await startTestServer({ dataDir });
  });
  afterAll(async () => {
    await b?.close({ keepData: true });
    await a?.close({ keepData: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a webhook-CA change in B reloads the trust store in A and does not re-apply A\'s certificate', async () => {
    const chain = await createChain();
    const res = await b.request('POST', '/v1/certificates/webhooks/ca', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body: chain.root.certPem });
    expect(res.status).toBe(201);
    await waitFor(async () => events(a, 'webhook_ca.reloaded').length, (count) => count === 1, 10_000);
    expect(await syncActivations(a, token)).toBe(0);
    expect(events(a, 'certificate.activated').filter((entry) => entry.way === 'sync')).toHaveLength(0);
  });

  it('a certificate change in B is served by A without reloading A\'s trust store', async () => {
    const chain = await createChain();
    expect((await b.upload(chain.bundle, token)).status).toBe(201);
    await waitFor(async () => (await peerCertificate(a.port)).fingerprint, (served) => served === fp(chain), 10_000);
    expect(await syncActivations(a, token)).toBe(1);
    // B made both changes itself, so it never reloads either.
    expect(events(a, 'webhook_ca.reloaded')).toHaveLength(1);
    expect(events(b, 'webhook_ca.reloaded')).toHaveLength(0);
  });
});
