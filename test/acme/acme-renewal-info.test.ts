import https from 'node:https';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AuthorityKeyIdentifier, Certificate, id_ce_authorityKeyIdentifier } from '@peculiar/asn1-x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../helpers/https-client.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';
import { freePort } from '../helpers/spawn-server.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait.js';

const DOMAIN = 'ari.example.com';
const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

/** RFC 9773 §4.1, computed here independently of hotcert: base64url(AKI keyIdentifier) "." base64url(serial content octets). */
function certId(der: Buffer): string {
  const cert = AsnConvert.parse(der, Certificate);
  const aki = cert.tbsCertificate.extensions!.find((ext) => ext.extnID === id_ce_authorityKeyIdentifier)!;
  const keyId = AsnConvert.parse(aki.extnValue.buffer, AuthorityKeyIdentifier).keyIdentifier!.buffer;
  return `${Buffer.from(keyId).toString('base64url')}.${Buffer.from(cert.tbsCertificate.serialNumber).toString('base64url')}`;
}

/**
 * ACME Renewal Information (RFC 9773). pebble 2.4 (Debian's) has no `renewalInfo`, so this test puts a
 * small HTTPS front before it: the front serves pebble's directory with a `renewalInfo` URL added and
 * answers that URL itself with a suggested window the test chooses; every other ACME request goes to pebble.
 */
describe('ACME Renewal Information through a test front (pebble 2.4 has none)', () => {
  let pebble: Pebble;
  let front: https.Server;
  let server: TestServer;
  let token: string;
  const asked: { certId: string; at: number; window: { start: number; end: number } }[] = [];
  // Years away, until the test opens the window for the first certificate (the CA wants it replaced now).
  let openFor: string | undefined;
  const windowFor = (id: string, now: number) => (id === openFor ? { start: now - 1000, end: now + 1000 } : { start: now + 10 * YEAR_MS, end: now + 11 * YEAR_MS });

  beforeAll(async () => {
    const tlsPort = await freePort();
    pebble = await startPebble({ tlsPort });
    const agent = new https.Agent({ ca: pebble.caPem });
    front = https.createServer({ cert: pebble.listenCertPem, key: pebble.listenKeyPem }, (req, res) => {
      const url = req.url ?? '/';
      if (url === '/dir') {
        https.get(pebble.directoryUrl, { agent }, (upstream) => {
          let body = '';
          upstream.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
          upstream.on('end', () => {
            const directory = { ...JSON.parse(body), renewalInfo: `https://127.0.0.1:${(front.address() as AddressInfo).port}/renewal-info` };
            res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(directory));
          });
        });
        return;
      }
      if (url.startsWith('/renewal-info/')) {
        const now = Date.now();
        const id = url.slice('/renewal-info/'.length);
        const window = windowFor(id, now);
        asked.push({ certId: id, at: now, window });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Retry-After': '21600' }).end(
          JSON.stringify({ suggestedWindow: { start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() } }),
        );
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    server = await startTestServer({
      env: {
        PORT: String(tlsPort),
        ACME_DIRECTORY_URL: `https://127.0.0.1:${(front.address() as AddressInfo).port}/dir`,
        ACME_DIRECTORY_CA_FILE: pebble.caFile,
        ACME_DOMAINS: DOMAIN,
      },
      start: { acmeCheckIntervalMs: 100, acme: { pollMs: 100, renewalInfoIntervalMs: 300 } },
    });
    token = await server.adminToken();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => front?.close(resolve));
    await pebble?.close();
  });

  const history = async () => (await server.request('GET', '/v1/certificates/external/history', { headers: bearer(token) })).json.certificates as { version: number; source: string; active: boolean; fingerprint_sha256: string; not_before: string; not_after: string }[];

  it('asks for the window of the issued certificate and renews inside it, long before two thirds of its lifetime', async () => {
    const first = (await waitFor(history, (versions) => versions.some((v) => v.source === 'acme'), 60_000)).find((v) => v.source === 'acme')!;
    const served = await new Promise<Buffer>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: server.port, servername: DOMAIN, rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate().raw);
        socket.end();
      });
      socket.once('error', reject);
    });
    expect(new X509Certificate(served).fingerprint256.replaceAll(':', '').toLowerCase()).toBe(first.fingerprint_sha256);
    // hotcert asks about the certificate it was just given, by its RFC 9773 identifier.
    await waitFor(async () => asked.map((entry) => entry.certId), (ids) => ids.includes(certId(served)), 10_000);
    const twoThirds = Date.parse(first.not_before) + ((Date.parse(first.not_after) - Date.parse(first.not_before)) * 2) / 3;
    expect(twoThirds - Date.now()).toBeGreaterThan(YEAR_MS);
    let state = (await server.request('GET', '/v1/certificates/acme', { headers: bearer(token) })).json.acme;
    expect(Date.parse(state.next_renewal_at)).toBeGreaterThan(Date.now() + YEAR_MS);

    // The CA opens the window now: the next refresh of the renewal information brings the renewal forward; no POST.
    openFor = certId(served);
    const versions = await waitFor(history, (list) => list.filter((v) => v.source === 'acme').length >= 2, 60_000);
    const second = versions.find((v) => v.active)!;
    expect(second.source).toBe('acme');
    expect(second.version).toBeGreaterThan(first.version);
    const opened = asked.find((entry) => entry.certId === openFor && entry.window.start < entry.at)!;
    const renewedLogs = async () => server.logs.map((line) => JSON.parse(line) as { event?: string; time?: string }).filter((entry) => entry.event === 'acme.renewed');
    const renewed = await waitFor(renewedLogs, (entries) => entries.length >= 2, 10_000);
    expect(renewed).toHaveLength(2);
    expect(Date.parse(renewed[1]!.time!)).toBeGreaterThanOrEqual(opened.at);

    // The second certificate's window is years away: the two-thirds time comes first and is kept.
    state = await waitFor(
      async () => (await server.request('GET', '/v1/certificates/acme', { headers: bearer(token) })).json.acme,
      (value) => value.active_version === second.version && value.last_success_at !== null,
      10_000,
    );
    const next = Date.parse(state.next_renewal_at);
    expect(next).toBeGreaterThan(Date.now() + YEAR_MS);
    expect(next).toBeLessThanOrEqual(Date.parse(second.not_before) + ((Date.parse(second.not_after) - Date.parse(second.not_before)) * 2) / 3);
  }, 120_000);
});
