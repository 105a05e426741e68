import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, peerCertificate } from '../helpers/https-client.js';
import { createChain, type TestChain, hexFingerprint as hex } from '../helpers/pki.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'hotcert-pfx-'));
const PASSWORD = 'Pfx-Exp0rt!';

function openssl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') return reject(new Error('openssl is missing: install the Debian package openssl'));
      if (error) return reject(new Error(`openssl ${args.join(' ')} failed: ${stderr}`));
      resolve(`${stdout}${stderr}`);
    });
  });
}

let counter = 0;
/** `openssl pkcs12 -export` of the chain: key, leaf, intermediates (and the root when asked), as Windows exports look. */
async function exportPfx(chain: TestChain, options: { password?: string; legacy?: boolean; withRoot?: boolean; noKey?: boolean; certPem?: string } = {}): Promise<Buffer> {
  const n = ++counter;
  const at = (name: string) => path.join(work, `${n}-${name}`);
  writeFileSync(at('key.pem'), chain.leaf.keyPem);
  writeFileSync(at('cert.pem'), options.certPem ?? chain.leaf.certPem);
  writeFileSync(at('chain.pem'), [...chain.intermediates.map((c) => c.certPem), ...(options.withRoot ? [chain.root.certPem] : [])].join(''));
  await openssl([
    'pkcs12', '-export', ...(options.legacy ? ['-legacy'] : []), ...(options.noKey ? ['-nokeys'] : ['-inkey', at('key.pem')]),
    '-in', at('cert.pem'), '-certfile', at('chain.pem'), '-passout', `pass:${options.password ?? PASSWORD}`, '-out', at('bundle.pfx'),
  ]);
  return readFileSync(at('bundle.pfx'));
}

/** What `openssl pkcs12 -info` says of the file's encryption. */
function pfxInfo(pfx: Buffer, extra: string[] = []): Promise<string> {
  const file = path.join(work, `info-${++counter}.pfx`);
  writeFileSync(file, pfx);
  return openssl(['pkcs12', '-info', '-noout', ...extra, '-in', file, '-passin', `pass:${PASSWORD}`]);
}

describe('PKCS#12 (PFX) upload: Content-Type application/x-pkcs12, password in X-Pkcs12-Password', () => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer();
    token = await server.adminToken();
  });
  afterAll(async () => {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  });

  const uploadPfx = (pfx: Buffer, password?: string, query = '') =>
    server.upload(pfx, token, { 'Content-Type': 'application/x-pkcs12', ...(password === undefined ? {} : { 'X-Pkcs12-Password': password }) }, query);

  it('serves a modern (AES-256, PBKDF2) PFX on the next handshake, chain included', async () => {
    const chain = await createChain({ keyKind: 'ec256' });
    const pfx = await exportPfx(chain, { withRoot: true });
    expect(await pfxInfo(pfx)).toMatch(/PBES2.*AES-256-CBC/);
    const res = await uploadPfx(pfx, PASSWORD);
    expect(res.status, res.text).toBe(201);
    const peer = await peerCertificate(server.port);
    expect(peer.fingerprint).toBe(hex(chain.leaf.cert.fingerprint256));
    expect(peer.chain[1]).toBe(hex(chain.intermediates[0]!.cert.fingerprint256));
    const active = (await server.request('GET', '/v1/certificates/external', { headers: bearer(token) })).json.certificates[0];
    expect(active.source).toBe('upload');
    expect(active.warnings.map((w: { rule: string }) => w.rule)).toContain('normalised-pkcs12');
  });

  it('serves a legacy (RC2/3DES, SHA-1 MAC) PFX with an RSA key, as older Windows exports are', async () => {
    const chain = await createChain({ keyKind: 'rsa2048' });
    const pfx = await exportPfx(chain, { legacy: true });
    // The file really is the legacy kind: RC2 or 3DES PBE.
    expect(await pfxInfo(pfx, ['-legacy'])).toMatch(/pbeWithSHA1And(40BitRC2|3-KeyTripleDES)/);
    const res = await uploadPfx(pfx, PASSWORD);
    expect(res.status, res.text).toBe(201);
    expect((await peerCertificate(server.port)).fingerprint).toBe(hex(chain.leaf.cert.fingerprint256));
  });

  it('takes a PFX exported with an empty password without the header', async () => {
    const chain = await createChain();
    const res = await uploadPfx(await exportPfx(chain, { password: '' }));
    expect(res.status, res.text).toBe(201);
    expect((await peerCertificate(server.port)).fingerprint).toBe(hex(chain.leaf.cert.fingerprint256));
  });

  it('a dry run reports the converted bundle and stores nothing', async () => {
    const before = (await peerCertificate(server.port)).fingerprint;
    const chain = await createChain();
    const res = await uploadPfx(await exportPfx(chain), PASSWORD, '?dry_run=true');
    expect(res.status).toBe(200);
    expect(res.json.report).toMatchObject({ valid: true, certificate: { fingerprint_sha256: hex(chain.leaf.cert.fingerprint256) } });
    expect((await peerCertificate(server.port)).fingerprint).toBe(before);
  });

  it('a wrong password, a missing one, or a file that is not a PFX: 400 with a clear message, nothing changed', async () => {
    const before = (await peerCertificate(server.port)).fingerprint;
    const versions = (await server.request('GET', '/v1/certificates/external/history', { headers: bearer(token) })).json.certificates.length;
    const pfx = await exportPfx(await createChain());

    const wrong = await uploadPfx(pfx, 'Not-The-Passw0rd');
    expect(wrong.status).toBe(400);
    expect(wrong.json.errors).toEqual([{ code: 1009, title: 'Parameter value is not valid', details: expect.stringMatching(/cannot be opened with the password given in the X-Pkcs12-Password header/) }]);
    expect(wrong.json.meta).toBeDefined();

    const none = await uploadPfx(pfx);
    expect(none.status).toBe(400);
    expect(none.json.errors[0].details).toMatch(/password/);

    for (const body of [Buffer.from('not a pfx at all'), Buffer.from((await createChain()).bundle), pfx.subarray(0, pfx.length - 40)]) {
      const res = await uploadPfx(body, PASSWORD);
      expect(res.status).toBe(400);
      expect(res.json.errors[0].details).toMatch(/not a readable PKCS#12 \(PFX\) file|cannot be opened/);
    }
    const empty = await uploadPfx(Buffer.alloc(0), PASSWORD);
    expect(empty.status).toBe(400);
    expect(empty.json.errors[0].code).toBe(1008);

    expect((await peerCertificate(server.port)).fingerprint).toBe(before);
    expect((await server.request('GET', '/v1/certificates/external/history', { headers: bearer(token) })).json.certificates.length).toBe(versions);
    // Neither the password nor a key reaches the log.
    const log = server.logs.join('\n');
    expect(log).not.toContain(PASSWORD);
    expect(log).not.toContain('Not-The-Passw0rd');
    expect(log).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
  });

  it('refuses, before any key derivation, a PFX that asks for more than 1,000,000 iterations', async () => {
    const chain = await createChain();
    const n = ++counter;
    const at = (name: string) => path.join(work, `${n}-${name}`);
    writeFileSync(at('key.pem'), chain.leaf.keyPem);
    writeFileSync(at('cert.pem'), chain.leaf.certPem);
    // Only the key is encrypted (one PBKDF2 run for openssl); no MAC, so the key bag's parameters are what counts.
    await openssl(['pkcs12', '-export', '-inkey', at('key.pem'), '-in', at('cert.pem'), '-certpbe', 'NONE', '-nomac', '-iter', '1100000', '-passout', `pass:${PASSWORD}`, '-out', at('slow.pfx')]);
    const res = await uploadPfx(readFileSync(at('slow.pfx')), PASSWORD);
    expect(res.status).toBe(400);
    expect(res.json.errors[0].details).toMatch(/asks for 1100000 key-derivation iterations, more than the 1000000/);
  });

  it('a PFX without a key is matched to a pending CSR key like a PEM upload', async () => {
    const csr = await server.request('POST', '/v1/certificates/external/csr', {
      headers: { ...bearer(token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ names: ['localhost'] }),
    });
    expect(csr.status).toBe(201);
    const chain = await createChain();
    const n = ++counter;
    const at = (name: string) => path.join(work, `${n}-${name}`);
    writeFileSync(at('req.csr'), csr.json.csrs[0].csr);
    writeFileSync(at('ca.pem'), chain.intermediates[0]!.certPem);
    writeFileSync(at('ca.key'), chain.intermediates[0]!.keyPem);
    writeFileSync(at('ext.cnf'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
    await openssl(['x509', '-req', '-in', at('req.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '30', '-copy_extensions', 'copy', '-extfile', at('ext.cnf'), '-out', at('cert.pem')]);
    const certPem = readFileSync(at('cert.pem'), 'utf8');
    const res = await uploadPfx(await exportPfx(chain, { noKey: true, certPem }), PASSWORD);
    expect(res.status, res.text).toBe(201);
    expect((await server.request('GET', '/v1/certificates/external', { headers: bearer(token) })).json.certificates[0].fingerprint_sha256).toBe((await peerCertificate(server.port)).fingerprint);
    expect((await peerCertificate(server.port)).fingerprint).not.toBe(hex(chain.leaf.cert.fingerprint256));
  });

  it('any other Content-Type is still 415, and the message names both formats', async () => {
    const res = await server.upload(Buffer.from('x'), token, { 'Content-Type': 'application/octet-stream' });
    expect(res.status).toBe(415);
    expect(res.json.errors[0].details).toMatch(/text\/plain.*application\/x-pkcs12/);
  });
});
