import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../helpers/https-client.js';
import { startWithPebble, type Pebble } from '../helpers/pebble.js';
import { runCli } from '../helpers/spawn-server.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { servedLeaf as leafFor } from '../helpers/served-leaf.js';
import { waitFor } from '../helpers/wait.js';

const DOMAIN = 'eab.hotcert.example.com';
const KID = 'kid-hotcert';
const HMAC_KEY = randomBytes(32).toString('base64url');
const servedLeaf = (port: number) => leafFor(port, DOMAIN);


describe('ACME with external account binding (pebble requiring EAB)', () => {
  let pebble: Pebble;
  let server: TestServer;
  let token: string;
  const acme = async () => (await server.request('GET', '/v1/certificates/acme', { headers: bearer(token) })).json.acme;

  beforeAll(async () => {
    // First without the binding: pebble refuses the account, hotcert keeps serving its default and says why.
    ({ pebble, started: server } = await startWithPebble({ externalAccountMACKeys: { [KID]: HMAC_KEY } }, (pebble, tlsPort) =>
      startTestServer({
        env: { PORT: String(tlsPort), ACME_DIRECTORY_URL: pebble.directoryUrl, ACME_DIRECTORY_CA_FILE: pebble.caFile, ACME_DOMAINS: DOMAIN },
        start: { acmeCheckIntervalMs: 200, acme: { pollMs: 100, requestRetry: { timeoutMs: 10_000, attempts: 1, delaySeconds: 0.1 } } },
      }),
    ));
    token = await server.adminToken();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await pebble?.close();
  });

  it('without the binding the CA refuses the account: the failure is reported and nothing changes', async () => {
    const before = await servedLeaf(server.port);
    const state = await waitFor(acme, (value) => value?.last_error != null, 60_000);
    expect(state.last_error).toMatch(/externalAccountBinding|external account/i);
    expect(state.consecutive_failures).toBeGreaterThanOrEqual(1);
    expect((await servedLeaf(server.port)).fingerprint256).toBe(before.fingerprint256);
  });

  it('with ACME_EAB_KID/ACME_EAB_HMAC_KEY (set through the API) the account binds and the certificate is served; the key is never shown', async () => {
    const patched = await server.request('PATCH', '/v1/certificates/acme', {
      headers: { ...bearer(token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ eab_kid: KID, eab_hmac_key: HMAC_KEY }),
    });
    expect(patched.status).toBe(200);
    expect(patched.text).not.toContain(HMAC_KEY);
    expect(patched.json.acme.config).toMatchObject({ eab_kid: KID, eab_hmac_key_set: true });
    // A renewal may already be running from the scheduler: either answer is fine, the outcome is what counts.
    const answer = await server.request('POST', '/v1/certificates/acme/renew', { headers: bearer(token) });
    expect([200, 409]).toContain(answer.status);
    const state = await waitFor(acme, (value) => value?.last_success_at != null, 60_000);
    expect(state.last_error).toBeNull();
    expect(state.account_url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/my-account\//);
    const intermediate = new X509Certificate(await pebble.management('/intermediates/0'));
    const served = await servedLeaf(server.port);
    expect(served.issuer).toBe(intermediate.subject);
    expect(served.subjectAltName).toContain(`DNS:${DOMAIN}`);
    expect(JSON.stringify(await acme())).not.toContain(HMAC_KEY);
    expect(server.logs.join('\n')).not.toContain(HMAC_KEY);
  });
});

describe('an invalid ACME configuration at start', () => {
  it('is refused with one line and exit code 2, before anything is created', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-acme-config-'));
    const dataDir = path.join(dir, 'data');
    try {
      for (const env of [
        { ACME_DIRECTORY_URL: 'http://insecure.example/dir', ACME_DOMAINS: 'a.example.com' },
        { ACME_DIRECTORY_URL: 'https://acme.example/dir', ACME_DOMAINS: 'not a name' },
        { ACME_DIRECTORY_URL: 'https://acme.example/dir', ACME_DOMAINS: 'a.example.com', ACME_KEY_TYPE: 'dsa' },
        { ACME_DIRECTORY_URL: 'https://acme.example/dir', ACME_DOMAINS: 'a.example.com', ACME_EAB_KID: 'only-the-kid' },
      ]) {
        const result = runCli(['serve'], { ...env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' });
        expect(result.status, JSON.stringify(env)).toBe(2);
        const lines = result.stderr.trimEnd().split('\n');
        expect(lines, result.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(/ACME/);
        expect(result.stderr).not.toMatch(/\n\s+at /);
        expect(existsSync(dataDir)).toBe(false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
