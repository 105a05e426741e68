import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChain } from '../helpers/pki.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

const OPENSSL = '/usr/bin/openssl';

interface Outcome {
  connected: boolean;
  protocol: string | undefined;
  cipher: string | undefined;
}

/** One handshake with `openssl s_client` (asynchronous: the server runs in this process). */
function sClient(port: number, args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(OPENSSL, ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], { timeout: 20_000 }, (error, stdout) => {
      const cipher = /Cipher is (\S+)/.exec(stdout)?.[1];
      const protocol = /Protocol\s*:\s*(\S+)/.exec(stdout)?.[1] ?? /New, (TLSv[\d.]+),/.exec(stdout)?.[1];
      resolve({ connected: !error && cipher !== undefined && cipher !== '(NONE)', protocol, cipher });
    });
    child.stdin?.end();
  });
}

const CBC_SUITES = 'ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384';
const OTHER_WEAK = 'ECDHE-ECDSA-AES128-CCM:ECDHE-ECDSA-ARIA128-GCM-SHA256:ECDHE-ARIA128-GCM-SHA256:AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256';
const AEAD_SUITES = 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256';
const INTERMEDIATE_TLS12 = new Set([
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
]);

beforeAll(() => {
  if (!existsSync(OPENSSL)) throw new Error(`${OPENSSL} is missing: install the Debian package "openssl"`);
});

describe('TLS profile "intermediate" (the default)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  const checkProfile = async () => {
    expect(await sClient(server.port, ['-tls1_2', '-cipher', CBC_SUITES])).toMatchObject({ connected: false });
    expect(await sClient(server.port, ['-tls1_2', '-cipher', OTHER_WEAK])).toMatchObject({ connected: false });
    const aead = await sClient(server.port, ['-tls1_2', '-cipher', AEAD_SUITES]);
    expect(aead.connected).toBe(true);
    expect(aead.protocol).toBe('TLSv1.2');
    // openssl's own default offer on TLS 1.2: whatever is chosen is in the profile.
    const offered = await sClient(server.port, ['-tls1_2']);
    expect(offered.connected).toBe(true);
    expect(INTERMEDIATE_TLS12.has(offered.cipher!)).toBe(true);
    const tls13 = await sClient(server.port, ['-tls1_3']);
    expect(tls13).toMatchObject({ connected: true, protocol: 'TLSv1.3' });
    // TLS 1.1 and older stay refused (SECLEVEL=0 so that only the server can be the one refusing).
    expect(await sClient(server.port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'])).toMatchObject({ connected: false });
  };

  it('offers TLS 1.2 with ECDHE + AEAD suites only, and TLS 1.3', async () => {
    await checkProfile();
  });

  it('keeps the profile across a certificate swap (the new SecureContext carries it too)', async () => {
    const token = await server.adminToken();
    const rsa = await createChain({ keyKind: 'rsa2048' });
    expect((await server.upload(rsa.bundle, token)).status).toBe(201);
    await checkProfile();
  });
});

describe('TLS profile "modern" (TLS_PROFILE=modern)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { TLS_PROFILE: 'modern' } });
  });
  afterAll(() => server.close());

  it('offers TLS 1.3 only, before and after a swap', async () => {
    for (const round of [0, 1]) {
      if (round === 1) expect((await server.upload((await createChain()).bundle, await server.adminToken())).status).toBe(201);
      expect(await sClient(server.port, ['-tls1_2'])).toMatchObject({ connected: false });
      expect(await sClient(server.port, ['-tls1_2', '-cipher', AEAD_SUITES])).toMatchObject({ connected: false });
      expect(await sClient(server.port, ['-tls1_3'])).toMatchObject({ connected: true, protocol: 'TLSv1.3' });
    }
  });
});
