import http from 'node:http';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../helpers/https-client.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';
import { freePort } from '../helpers/spawn-server.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { handshakeLoop, servedLeaf } from '../helpers/served-leaf.js';
import { waitFor } from '../helpers/wait.js';

const DOMAIN = 'hotcert.example.com';
const DOMAINS = [DOMAIN, 'www.hotcert.example.com'];
const BLOCKED = 'blocked.example.net';
const handshake = (port: number, alpn?: string[]) => servedLeaf(port, DOMAIN, alpn);


function plainGet(port: number, pathname: string): Promise<{ status: number; location: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: pathname, headers: { Host: `${DOMAIN}:${port}` } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
      })
      .on('error', reject);
  });
}

describe('ACME against a real pebble (TLS-ALPN-01 on hotcert\'s port, HTTP-01 on ACME_HTTP_PORT)', () => {
  let pebble: Pebble;
  let server: TestServer;
  let token: string;
  let intermediateSubject: string;
  let httpPort: number;

  const acme = async () => (await server.request('GET', '/v1/certificates/acme', { headers: bearer(token) })).json.acme;
  const renew = () => server.request('POST', '/v1/certificates/acme/renew', { headers: bearer(token) });
  const history = async () => (await server.request('GET', '/v1/certificates/external/history', { headers: bearer(token) })).json;

  beforeAll(async () => {
    const tlsPort = await freePort();
    httpPort = await freePort();
    pebble = await startPebble({ tlsPort, httpPort, domainBlocklist: [BLOCKED] });
    server = await startTestServer({
      env: { PORT: String(tlsPort), ACME_DIRECTORY_URL: pebble.directoryUrl, ACME_DIRECTORY_CA_FILE: pebble.caFile, ACME_DOMAINS: DOMAINS.join(','), ACME_EMAIL: 'ops@hotcert.example.com' },
      start: { acmeCheckIntervalMs: 200, acme: { pollMs: 100, requestRetry: { timeoutMs: 10_000, attempts: 1, delaySeconds: 0.1 } } },
    });
    token = await server.adminToken();
    intermediateSubject = new X509Certificate(await pebble.management('/intermediates/0')).subject;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await pebble?.close();
  });

  it('obtains a certificate at start and serves it on the next handshake', async () => {
    const state = await waitFor(acme, (value) => value?.last_success_at !== null || value?.last_error !== null, 60_000);
    expect(state.last_error).toBeNull();
    expect(state).toMatchObject({ configured: true, origin: 'env', mode: 'acme', active_source: 'acme', consecutive_failures: 0 });
    expect(state.config).toMatchObject({ domains: DOMAINS, key_type: 'ec-p256', challenge: 'tls-alpn-01', eab_hmac_key_set: false });
    expect(state.account_url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/my-account\//);
    expect(Date.parse(state.next_renewal_at)).toBeGreaterThan(Date.now());

    const served = await handshake(server.port);
    expect(served.issuer).toBe(intermediateSubject);
    expect(served.subjectAltName).toContain(`DNS:${DOMAIN}`);
    const versions = (await history()).certificates as { version: number; source: string; active: boolean }[];
    expect(versions.find((v) => v.active)).toMatchObject({ source: 'acme' });
    expect(server.logs.some((line) => line.includes('"acme.challenge_answered"') && line.includes('"tls-alpn-01"'))).toBe(true);

    // Health says how ACME is doing; the key never appears in any answer.
    const health = await server.request('GET', '/v1/health', { headers: bearer(token) });
    expect(health.json.health.acme).toMatchObject({ status: 'ok', mode: 'acme', domains: DOMAINS, consecutive_failures: 0 });
    expect(JSON.stringify(state)).not.toMatch(/PRIVATE KEY/);
  });

  it('answers acme-tls/1 only while a challenge is pending; every other handshake gets the real certificate', async () => {
    await expect(handshake(server.port, ['acme-tls/1'])).rejects.toThrow();
    const normal = await handshake(server.port, ['h2', 'http/1.1']);
    expect(normal.issuer).toBe(intermediateSubject);
  });

  it('renews into a new version with no failed handshake meanwhile', async () => {
    const before = await handshake(server.port);
    const loop = handshakeLoop(() => handshake(server.port));
    const answer = await renew();
    const { handshakes, failures } = await loop.stop();
    expect(answer.status).toBe(200);
    expect(answer.json.renewal).toMatchObject({ renewed: true, error: null });
    expect(failures).toBe(0);
    expect(handshakes).toBeGreaterThan(0);
    const after = await handshake(server.port);
    expect(after.fingerprint256).not.toBe(before.fingerprint256);
    expect(after.issuer).toBe(intermediateSubject);
    const versions = (await history()).certificates as { version: number; source: string; active: boolean }[];
    expect(versions.filter((v) => v.source === 'acme')).toHaveLength(2);
    expect(versions.find((v) => v.active)?.version).toBe(answer.json.renewal.version);
  });

  it('validates by HTTP-01 once http_port is set through the API, and redirects everything else to HTTPS', async () => {
    const patched = await server.request('PATCH', '/v1/certificates/acme', {
      headers: { ...bearer(token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ http_port: httpPort, key_type: 'rsa-2048' }),
    });
    expect(patched.status).toBe(200);
    expect(patched.json.acme).toMatchObject({ origin: 'api', config: { http_port: httpPort, challenge: 'http-01', key_type: 'rsa-2048' } });
    const redirect = await waitFor(() => plainGet(httpPort, '/v1/health?x=1').catch(() => undefined), (value) => value !== undefined, 10_000);
    expect(redirect).toMatchObject({ status: 308, location: `https://${DOMAIN}:${server.port}/v1/health?x=1` });
    expect((await plainGet(httpPort, '/.well-known/acme-challenge/unknown-token')).status).toBe(404);

    const answer = await renew();
    expect(answer.json.renewal).toMatchObject({ renewed: true, error: null });
    expect(server.logs.some((line) => line.includes('"acme.challenge_answered"') && line.includes('"http-01"'))).toBe(true);
    const served = await handshake(server.port);
    expect(served.publicKey.asymmetricKeyType).toBe('rsa');
    expect(served.issuer).toBe(intermediateSubject);
  });

  it('refuses an invalid configuration with 400 and the envelope, changing nothing', async () => {
    const before = await acme();
    for (const body of [{ domains: ['not a name'] }, { directory_url: 'http://insecure.example/dir' }, { key_type: 'dsa' }, { eab_kid: 'kid-only' }, { unknown_field: 1 }]) {
      const res = await server.request('PATCH', '/v1/certificates/acme', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.errors[0]).toMatchObject({ code: expect.any(Number), details: expect.any(String) });
    }
    expect((await acme()).config).toEqual(before.config);
  });

  it('reports a refused order: failure in health, audit and metrics, the certificate stays', async () => {
    const failuresCounted = async () => {
      const text = (await server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(token) })).text;
      return Number(/hotcert_acme_renewals_total\{outcome="failure"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const counted = await failuresCounted();
    const before = await handshake(server.port);
    const patched = await server.request('PATCH', '/v1/certificates/acme', {
      headers: { ...bearer(token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ domains: [DOMAIN, BLOCKED] }),
    });
    expect(patched.status).toBe(200);
    const answer = await renew();
    if (answer.status === 409) {
      // The scheduler saw that the certificate no longer covers the domains and ordered first (the lease
      // refuses a second order): its outcome is the one to check.
      expect(answer.json.errors[0].details).toMatch(/already running/);
      await waitFor(failuresCounted, (count) => count > counted, 30_000);
    } else {
      expect(answer.status).toBe(200);
      expect(answer.json.renewal.renewed).toBe(false);
      expect(answer.json.renewal.error).toMatch(/blocked|policy|rejected/i);
      expect(answer.json.acme.consecutive_failures).toBe(1);
    }
    expect((await handshake(server.port)).fingerprint256).toBe(before.fingerprint256);

    const health = await server.request('GET', '/v1/health', { headers: bearer(token) });
    expect(health.json.health.acme).toMatchObject({ status: 'failing', consecutive_failures: 1 });
    expect(health.json.health.acme.last_error).toMatch(/blocked|policy|rejected/i);
    expect(Date.parse(health.json.health.acme.next_renewal_at)).toBeGreaterThan(Date.now());
    const audit = await server.request('GET', '/v1/audit', { headers: bearer(token) });
    expect(JSON.stringify(audit.json)).toContain('acme.renewal_failed');
    expect(await failuresCounted()).toBe(counted + 1);
    const metrics = await server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(token) });
    expect(metrics.text).toMatch(/hotcert_acme_consecutive_failures 1/);

    // Back to the environment's configuration.
    const reset = await server.request('DELETE', '/v1/certificates/acme', { headers: bearer(token) });
    expect(reset.json.acme).toMatchObject({ origin: 'env', config: { domains: DOMAINS, challenge: 'tls-alpn-01' } });
  });

  it('keeps serving the old certificate when pebble goes away mid-renewal, and schedules a retry', async () => {
    const before = await handshake(server.port);
    const answered = () => server.logs.filter((line) => line.includes('"acme.challenge_answered"')).length;
    const answeredBefore = answered();
    const pending = renew();
    // pebble dies once hotcert answered the CA's validation, before the order is finalized.
    await waitFor(async () => answered(), (count) => count > answeredBefore, 30_000);
    await pebble.stopPebble();
    const answer = await pending;
    expect(answer.json.renewal.renewed).toBe(false);
    expect(answer.json.renewal.error).toMatch(/cannot reach https:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    expect((await handshake(server.port)).fingerprint256).toBe(before.fingerprint256);
    const health = await server.request('GET', '/v1/health', { headers: bearer(token) });
    expect(health.json.health.acme.status).toBe('failing');
    expect(health.json.health.certificate.status).toBe('ok');
    expect(Date.parse(health.json.health.acme.next_renewal_at)).toBeGreaterThan(Date.now());
  }, 90_000);
});
