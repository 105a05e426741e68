import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { bearer, peerCertificate } from '../helpers/https-client.js';
import { createChain, leafFingerprint as fp } from '../helpers/pki.js';
import { runCli } from '../helpers/spawn-server.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait.js';

/** `hotcert_certificate_activations_total` by way: the counter only activation.ts moves. */
async function activations(server: TestServer, token: string): Promise<Record<string, number>> {
  const text = (await server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(token) })).text;
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^hotcert_certificate_activations_total\{way="([a-z]+)"\} (\d+)$/gm)) counts[match[1]!] = Number(match[2]);
  return counts;
}

/** The `certificate.activated` lines, each reduced to its field names and its way. */
function activationLines(lines: string[]): { way: string; fields: string }[] {
  return lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.event === 'certificate.activated')
    .map((entry) => ({ way: String(entry.way), fields: Object.keys(entry).filter((key) => !['time', 'pid', 'hostname'].includes(key)).sort().join(',') }));
}

describe('every way a certificate changes passes through the one activation function', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('boot, upload, rollback, reset, CLI import, sync and boot fallback: one counter by way, one log line of one shape', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-ways-'));
    const files = mkdtempSync(path.join(os.tmpdir(), 'hotcert-ways-files-'));
    dirs.push(dataDir, files);
    const server = await startTestServer({ dataDir });
    try {
      let token = await server.adminToken();
      expect(await activations(server, token)).toEqual({ boot: 1 });

      const [a, b, c] = await Promise.all([createChain(), createChain(), createChain()]);
      expect((await server.upload(a.bundle, token)).status).toBe(201);
      expect((await server.request('POST', '/v1/certificates/external/rollback', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(200);
      expect((await server.request('DELETE', '/v1/certificates/external', { headers: bearer(token) })).status).toBe(200);
      expect(await activations(server, token)).toEqual({ boot: 1, upload: 1, rollback: 1, reset: 1 });

      // The CLI runs the same function in its own process; the server applies the committed change by sync.
      writeFileSync(path.join(files, 'b.pem'), b.bundle);
      const imported = runCli(['import', path.join(files, 'b.pem'), '--data-dir', dataDir], { LOG_LEVEL: 'info' });
      expect(imported.status).toBe(0);
      const cliLines = activationLines(imported.stderr.split('\n'));
      expect(cliLines.map((line) => line.way)).toEqual(['import']);
      await waitFor(async () => (await peerCertificate(server.port)).fingerprint, (served) => served === fp(b), 10_000);
      await waitFor(() => activations(server, token), (counts) => counts.sync === 1, 10_000);
      expect(await activations(server, token)).toEqual({ boot: 1, upload: 1, rollback: 1, reset: 1, sync: 1 });

      // Boot fallback: the active row is damaged while the server is stopped.
      expect((await server.upload(c.bundle, token)).status).toBe(201);
      await server.close({ keepData: true });
      const db = new Database(path.join(dataDir, 'hotcert.db'));
      db.prepare('update certificate_versions set cert_pem = ? where version = (select active_version from service_state)').run('garbage');
      db.close();
      await server.restart();
      token = await server.adminToken();
      expect(await activations(server, token)).toEqual({ fallback: 1 });
      expect((await peerCertificate(server.port)).fingerprint).toBe(fp(b));

      const lines = [...activationLines(server.logs), ...cliLines];
      expect(lines.map((line) => line.way).sort()).toEqual(['boot', 'fallback', 'import', 'reset', 'rollback', 'sync', 'upload', 'upload'].sort());
      expect(new Set(lines.map((line) => line.fields)).size).toBe(1);
    } finally {
      await server.close({ keepData: true });
    }
  });
});
