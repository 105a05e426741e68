import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, peerCertificate } from '../helpers/https-client.js';
import { startWithPebble, type Pebble } from '../helpers/pebble.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait.js';

const DOMAINS = ['fleet.example.com'];
const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

/**
 * Two hotcert instances on one DATA_DIR (each with its own database connection, as WORKERS=N
 * processes have): both find ACME due at start, one takes the lease and renews for both. pebble
 * validates TLS-ALPN-01 on A's port only, so when B holds the lease, A answers B's challenge from
 * the database.
 */
describe('ACME in a fleet: one lease, one renewal', () => {
  let pebble: Pebble;
  let a: TestServer;
  let b: TestServer;
  let dataDir: string;

  beforeAll(async () => {
    ({ pebble, started: [a, b] } = await startWithPebble({}, async (pebble, tlsPort) => {
      dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-fleet-'));
      const env = { MASTER_KEY, ACME_DIRECTORY_URL: pebble.directoryUrl, ACME_DIRECTORY_CA_FILE: pebble.caFile, ACME_DOMAINS: DOMAINS.join(',') };
      const start = { acmeCheckIntervalMs: 100, syncIntervalMs: 100, acme: { pollMs: 100 } };
      // A on pebble's validation port first: if that port was taken meanwhile, nothing else has started.
      const first = await startTestServer({ dataDir, env: { ...env, PORT: String(tlsPort) }, start });
      return [first, await startTestServer({ dataDir, env, start })] as const;
    }));
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await pebble?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('issues once, and both instances serve the certificate', async () => {
    const token = await a.adminToken();
    const history = async () => (await a.request('GET', '/v1/certificates/external/history', { headers: bearer(token) })).json.certificates as { version: number; source: string; fingerprint_sha256: string; active: boolean }[];
    const issued = await waitFor(history, (versions) => versions.some((v) => v.source === 'acme' && v.active), 60_000);
    const acmeVersion = issued.find((v) => v.source === 'acme')!;
    await waitFor(() => peerCertificate(b.port), (peer) => peer.fingerprint === acmeVersion.fingerprint_sha256, 10_000);
    expect((await peerCertificate(a.port)).fingerprint).toBe(acmeVersion.fingerprint_sha256);

    await waitFor(async () => a.request('GET', '/v1/certificates/acme', { headers: bearer(token) }), (res) => res.json.acme.last_success_at !== null, 10_000);
    const versions = await history();
    expect(versions.filter((v) => v.source === 'acme')).toHaveLength(1);

    const started = (server: TestServer) => server.logs.filter((line) => line.includes('"acme.renewal_started"')).length;
    expect(started(a) + started(b)).toBe(1);
    const other = started(a) === 1 ? b : a;
    // The other one was due too and was kept out by the lease.
    expect(other.logs.some((line) => line.includes('"acme.lease_busy"'))).toBe(true);

    const audit = await a.request('GET', '/v1/audit', { headers: bearer(token) });
    expect(JSON.stringify(audit.json).match(/"acme\.renewed"/g)).toHaveLength(1);
    const state = (await b.request('GET', '/v1/certificates/acme', { headers: bearer(await b.adminToken()) })).json.acme;
    expect(state).toMatchObject({ mode: 'acme', active_source: 'acme', consecutive_failures: 0, renewing: false });
  });
});
