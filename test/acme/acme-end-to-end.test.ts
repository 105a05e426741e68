import { createHash, createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import acme from 'acme-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type HttpsResponse } from '../helpers/https-client.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';
import { freePort } from '../helpers/spawn-server.js';
import { openssl } from '../helpers/openssl-verify.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { handshakeLoop, servedLeaf } from '../helpers/served-leaf.js';
import { waitFor } from '../helpers/wait.js';
import { signatureValid, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

/**
 * Issue 14's "Done when", end to end against one real pebble: ACME issuance, serving, renewal under handshake load,
 * webhooks, then the CSR flow and a PFX upload with certificates that pebble signed.
 */
const DOMAIN = 'e2e.hotcert.example.com';
const handshake = (port: number) => servedLeaf(port, DOMAIN);
const DOMAINS = [DOMAIN, 'www.e2e.hotcert.example.com'];
const BLOCKED = 'refused.example.net';
const PFX_PASSWORD = 'Pfx-E2e-Passw0rd!';
const work = mkdtempSync(path.join(os.tmpdir(), 'hotcert-acme-e2e-'));



const hex = (cert: X509Certificate) => cert.fingerprint256.replaceAll(':', '').toLowerCase();
/** SHA-256 of the DER SubjectPublicKeyInfo, hex: how hotcert names a pending key (public_key_sha256). */
const spkiSha256 = (key: KeyObject | Buffer) => createHash('sha256').update((key instanceof KeyObject ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' })).digest('hex');
const pems = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];

/**
 * The test's own ACME client (its own account) answering HTTP-01 on the port pebble validates HTTP-01 at, so pebble
 * signs a CSR that the test chooses. acme-client has one axios instance per process: hotcert, running in this process,
 * configured it to trust pebble's CA (ACME_DIRECTORY_CA_FILE) before any order here.
 */
async function startTestAcmeClient(directoryUrl: string, httpPort: number) {
  const answers = new Map<string, string>();
  const server = http.createServer((req, res) => {
    const token = /^\/\.well-known\/acme-challenge\/([^/?]+)$/.exec(req.url ?? '')?.[1];
    const answer = token === undefined ? undefined : answers.get(token);
    if (answer === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(answer);
  });
  await new Promise<void>((resolve) => server.listen(httpPort, '127.0.0.1', resolve));
  const client = new acme.Client({ directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
  return {
    port: (server.address() as AddressInfo).port,
    /** pebble's full chain (leaf first) for this CSR, the names taken from the CSR. */
    sign: (csr: string) =>
      client.auto({
        csr,
        email: 'e2e-test@hotcert.example.com',
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        // The CA's validation is the check; acme-client's own pre-check would ask the system's DNS.
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => void answers.set(challenge.token, keyAuthorization),
        challengeRemoveFn: async (_authz, challenge) => void answers.delete(challenge.token),
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('ACME end to end against a real pebble: issuance, renewal, webhooks, CSR flow, PFX', { timeout: 90_000 }, () => {
  let pebble: Pebble;
  let server: TestServer;
  let receiver: WebhookReceiver;
  let testClient: Awaited<ReturnType<typeof startTestAcmeClient>>;
  let token: string;
  let intermediateSubject: string;
  const responses: HttpsResponse[] = [];

  const call = async (method: string, url: string, body?: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await server.request(method, url, { headers: { ...bearer(token), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers }, body });
    responses.push(res);
    return res;
  };
  const acmeState = async () => (await call('GET', '/v1/certificates/acme')).json.acme;
  const history = async () => (await call('GET', '/v1/certificates/external/history')).json.certificates as { version: number; source: string; active: boolean }[];

  beforeAll(async () => {
    const tlsPort = await freePort();
    const httpPort = await freePort();
    pebble = await startPebble({ tlsPort, httpPort, domainBlocklist: [BLOCKED] });
    testClient = await startTestAcmeClient(pebble.directoryUrl, httpPort);
    receiver = await startWebhookReceiver();
    // A fresh hotcert with the ACME variables pointing at pebble: TLS-ALPN-01 on its own port.
    server = await startTestServer({
      env: { PORT: String(tlsPort), ACME_DIRECTORY_URL: pebble.directoryUrl, ACME_DIRECTORY_CA_FILE: pebble.caFile, ACME_DOMAINS: DOMAINS.join(','), ACME_EMAIL: 'ops@hotcert.example.com' },
      start: {
        taskTimeoutMs: 60_000,
        acmeCheckIntervalMs: 200,
        acme: { pollMs: 100, requestRetry: { timeoutMs: 10_000, attempts: 1, delaySeconds: 0.1 } },
        webhooks: { retryDelaysMs: [200, 400], maxAttempts: 50, timeoutMs: 15_000, pollIntervalMs: 50 },
      },
    });
    token = await server.adminToken();
    intermediateSubject = new X509Certificate(await pebble.management('/intermediates/0')).subject;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await testClient?.close();
    await receiver?.close();
    await pebble?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('obtains a certificate, serves it, renews it without a failed handshake, and tells a registered webhook', async () => {
    const issued = await waitFor(acmeState, (value) => value?.last_success_at !== null || value?.last_error !== null, 60_000);
    expect(issued.last_error).toBeNull();
    expect(issued).toMatchObject({ mode: 'acme', active_source: 'acme' });
    const first = await handshake(server.port);
    expect(first.issuer).toBe(intermediateSubject);
    expect(first.subjectAltName).toContain(`DNS:${DOMAIN}`);

    // The receiver's CA goes in through the webhook-CA endpoint; the webhook is registered through the API.
    const ca = await call('POST', '/v1/certificates/webhooks/ca', receiver.root.certPem, { 'Content-Type': 'text/plain' });
    expect(ca.status, ca.text).toBe(201);
    const registered = await call('POST', '/v1/settings/webhooks', JSON.stringify({ url: receiver.url, events: ['certificate.activated', 'acme.renewed', 'acme.renewal_failed'] }));
    expect(registered.status, registered.text).toBe(201);
    const secret = registered.json.webhooks[0].secret as string;

    // Renewal now, with a bounded handshake loop running meanwhile.
    const loop = handshakeLoop(() => handshake(server.port));
    const renewed = await call('POST', '/v1/certificates/acme/renew');
    const { handshakes, failures } = await loop.stop();
    expect(renewed.status).toBe(200);
    expect(renewed.json.renewal).toMatchObject({ renewed: true, error: null });
    expect(failures).toBe(0);
    expect(handshakes).toBeGreaterThan(0);
    const second = await handshake(server.port);
    expect(hex(second)).not.toBe(hex(first));
    expect(second.issuer).toBe(intermediateSubject);
    expect((await history()).find((v) => v.active)).toMatchObject({ source: 'acme', version: renewed.json.renewal.version });

    const activated = await receiver.event('certificate.activated', (hook) => hook.json.data.fingerprint_sha256 === hex(second));
    expect(activated.json.data).toMatchObject({ source: 'acme', version: renewed.json.renewal.version });
    const renewedEvent = await receiver.event('acme.renewed', (hook) => hook.json.data.fingerprint_sha256 === hex(second));
    expect(renewedEvent.json.data).toMatchObject({ domains: DOMAINS, version: renewed.json.renewal.version });
    for (const hook of [activated, renewedEvent]) {
      expect(signatureValid(hook, secret)).toBe(true);
      expect(signatureValid(hook, 'whsec_wrong')).toBe(false);
    }

    // A refused order (pebble's blocklist). Once the configured names include one the active certificate lacks, the
    // scheduler orders at once (a POST …/renew now would race it and may get 409): wait for the delivered event.
    const patched = await call('PATCH', '/v1/certificates/acme', JSON.stringify({ domains: [DOMAIN, BLOCKED] }));
    expect(patched.status, patched.text).toBe(200);
    const failed = await receiver.event('acme.renewal_failed');
    expect(signatureValid(failed, secret)).toBe(true);
    expect(failed.json.data).toMatchObject({ domains: [DOMAIN, BLOCKED] });
    expect(failed.json.data.error).toMatch(/blocked|policy|rejected/i);
    expect(await acmeState()).toMatchObject({ last_error: failed.json.data.error, consecutive_failures: 1 });
    expect(hex(await handshake(server.port))).toBe(hex(second));
    const reset = await call('DELETE', '/v1/certificates/acme');
    expect(reset.json.acme).toMatchObject({ origin: 'env', config: { domains: DOMAINS } });
  });

  it('CSR flow against pebble: only the certificate and chain are uploaded, served with the key hotcert kept', async () => {
    const csr = await call('POST', '/v1/certificates/external/csr', JSON.stringify({ names: DOMAINS }));
    expect(csr.status, csr.text).toBe(201);
    const entry = csr.json.csrs[0] as { csr: string; public_key_sha256: string };
    const fullchain = await testClient.sign(entry.csr);
    const [leafPem, ...chainPems] = pems(fullchain);
    expect(chainPems.length).toBeGreaterThan(0);
    expect(fullchain).not.toMatch(/PRIVATE KEY/);
    const leaf = new X509Certificate(leafPem!);
    expect(leaf.issuer).toBe(intermediateSubject);
    expect(spkiSha256(leaf.publicKey)).toBe(entry.public_key_sha256);

    const uploaded = await call('POST', '/v1/certificates/external', fullchain, { 'Content-Type': 'text/plain' });
    expect(uploaded.status, uploaded.text).toBe(201);
    // The handshake completes with pebble's certificate: hotcert signed it with the pending key it kept.
    const served = await handshake(server.port);
    expect(hex(served)).toBe(hex(leaf));
    expect(served.issuer).toBe(intermediateSubject);
    const activated = await receiver.event('certificate.activated', (hook) => hook.json.data.fingerprint_sha256 === hex(leaf));
    expect(activated.json.data.source).not.toBe('acme');
    // An upload covering the ACME names takes over (the newest activation wins): ACME stands aside.
    expect(await acmeState()).toMatchObject({ mode: 'manual' });
    for (const res of responses) expect(res.text).not.toMatch(/PRIVATE KEY/);
  });

  it('PFX upload of a pebble-issued certificate: served; a wrong password is a 400 envelope and changes nothing', async () => {
    const [keyPem, csrPem] = await acme.crypto.createCsr({ commonName: DOMAIN, altNames: DOMAINS }, await acme.crypto.createPrivateEcdsaKey());
    const fullchain = await testClient.sign(csrPem.toString('utf8'));
    const [leafPem, ...chainPems] = pems(fullchain);
    const leaf = new X509Certificate(leafPem!);
    expect(leaf.issuer).toBe(intermediateSubject);
    const at = (name: string) => path.join(work, name);
    writeFileSync(at('key.pem'), keyPem);
    writeFileSync(at('cert.pem'), leafPem!);
    writeFileSync(at('chain.pem'), chainPems.join(''));
    await openssl(['pkcs12', '-export', '-inkey', at('key.pem'), '-in', at('cert.pem'), '-certfile', at('chain.pem'), '-passout', `pass:${PFX_PASSWORD}`, '-out', at('bundle.pfx')]);
    const pfx = readFileSync(at('bundle.pfx'));
    const uploadPfx = (password: string) => call('POST', '/v1/certificates/external', pfx, { 'Content-Type': 'application/x-pkcs12', 'X-Pkcs12-Password': password });

    const before = await handshake(server.port);
    const versionsBefore = await history();
    const wrong = await uploadPfx('not-the-password');
    expect(wrong.status, wrong.text).toBe(400);
    expect(wrong.json.errors[0]).toMatchObject({ code: expect.any(Number), details: expect.any(String) });
    expect(hex(await handshake(server.port))).toBe(hex(before));
    expect(await history()).toEqual(versionsBefore);

    const uploaded = await uploadPfx(PFX_PASSWORD);
    expect(uploaded.status, uploaded.text).toBe(201);
    const served = await handshake(server.port);
    expect(hex(served)).toBe(hex(leaf));
    expect(served.issuer).toBe(intermediateSubject);
    expect(spkiSha256(served.publicKey)).toBe(spkiSha256(keyPem));
    expect((await history()).length).toBe(versionsBefore.length + 1);
    const keyBody = keyPem.toString('utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    // Neither the key nor the PFX password shows up in any answer, log line or webhook body.
    const seen = [...responses.map((res) => res.text), ...server.logs, ...receiver.received.map((hook) => hook.body)];
    for (const text of seen) {
      expect(text).not.toMatch(/PRIVATE KEY/);
      expect(text.replace(/\\n|\s/g, '')).not.toContain(keyBody);
      expect(text).not.toContain(PFX_PASSWORD);
    }
  });
});
