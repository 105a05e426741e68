import https from 'node:https';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, peerCertificate, request } from '../helpers/https-client.js';
import { createChain, hexFingerprint, pemBundle, leafFingerprint as fp, type IssuedCert } from '../helpers/pki.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

describe('certificate upload, hot swap, history, rollback and reset', () => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    // 20 concurrent uploads from one address must all reach the pool here, so lift the per-client cap.
    server = await startTestServer({ start: { uploadsPerClient: 32 } });
    token = await server.adminToken();
  });
  afterAll(() => server.close());

  const active = async () => (await server.request('GET', '/v1/certificates/external', { headers: bearer(token) })).json.certificates[0];
  const history = async () => (await server.request('GET', '/v1/certificates/external/history', { headers: bearer(token) })).json.certificates as any[];
  const versionsInDb = () => server.hotcert.services.sqlite!.$client.prepare('select count(*) as n from certificate_versions').get() as { n: number };

  it('serves an uploaded bundle on the very next handshake and leaves open connections alone', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const before = await request(server.port, 'GET', '/healthz', { agent });
    expect(before.status).toBe(200);
    const chain = await createChain({ keyKind: 'ec256' });

    const res = await server.upload(chain.bundle, token);
    expect(res.status).toBe(201);
    expect(res.text).toBe('null');

    const peer = await peerCertificate(server.port);
    expect(peer.fingerprint).toBe(fp(chain));
    expect(peer.chain[1]).toBe(chain.intermediates[0]!.cert.fingerprint256.replaceAll(':', '').toLowerCase());
    // The keep-alive connection opened before the swap still answers, on its old socket.
    const after = await request(server.port, 'GET', '/healthz', { agent });
    expect(after.status).toBe(200);
    const sockets = Object.values(agent.freeSockets).flat();
    expect(sockets).toHaveLength(1);
    expect(hexFingerprint((sockets[0] as tls.TLSSocket).getPeerCertificate().fingerprint256)).not.toBe(fp(chain));
    agent.destroy();

    const version = await active();
    expect(version).toMatchObject({ version: 2, active: true, source: 'upload', fingerprint_sha256: fp(chain), key_type: 'EC-P256', created_by: 'admin', warnings: [] });
    expect(version.chain).toHaveLength(1);
    expect(version.chain[0].fingerprint_sha256).toBe(chain.intermediates[0]!.cert.fingerprint256.replaceAll(':', '').toLowerCase());

    const ca = await server.request('GET', '/v1/certificates/external/ca', { headers: bearer(token) });
    expect(ca.status).toBe(200);
    expect(ca.headers['content-type']).toMatch(/^text\/plain/);
    expect(ca.text.trim()).toBe(chain.intermediates[0]!.certPem.trim());
  });

  it('accepts RSA-2048 and two intermediates, stored in documented order', async () => {
    const chain = await createChain({ keyKind: 'rsa2048', intermediates: 2 });
    const shuffled = pemBundle(chain.intermediates[1]!.certPem, chain.leaf.certPem, chain.leaf.keyPem, chain.intermediates[0]!.certPem);
    const res = await server.upload(shuffled, token);
    expect(res.status).toBe(201);
    expect((await peerCertificate(server.port)).fingerprint).toBe(fp(chain));
    const version = await active();
    expect(version.key_type).toBe('RSA-2048');
    expect(version.chain.map((entry: any) => entry.subject)).toEqual(chain.intermediates.map((c) => c.cert.subject.replace(/\n/g, ', ')));
    expect(version.warnings.map((w: any) => w.rule)).toContain('chain-order');
  });

  it('rejects a bad bundle with one entry per problem and changes nothing', async () => {
    const before = await peerCertificate(server.port);
    const count = versionsInDb().n;
    // Three independent problems: an expired leaf (block 2) signed with SHA-1, under an expired intermediate (block 3).
    const past = { notAfter: new Date(Date.now() - 86400_000), notBefore: new Date(Date.now() - 10 * 86400_000) };
    const chain = await createChain({ intermediate: past, leaf: { ...past, signatureHash: 'SHA-1' } });
    const res = await server.upload(chain.bundle, token);
    expect(res.status).toBe(400);
    expect(res.json.meta).toMatchObject({ api_status: 'stable' });
    for (const entry of res.json.errors) expect(entry).toMatchObject({ code: 1009, title: 'Parameter value is not valid' });
    const details: string[] = res.json.errors.map((e: any) => e.details);
    expect(details).toHaveLength(3);
    expect(details.filter((d) => /^block 2\b.*expired/.test(d))).toHaveLength(1);
    expect(details.filter((d) => /^block 3\b.*expired/.test(d))).toHaveLength(1);
    expect(details.filter((d) => /^block 2\b.*SHA-1/.test(d))).toHaveLength(1);

    // A key that belongs to none of the certificates is one problem, reported once.
    const other = await createChain();
    const mismatched = await server.upload(pemBundle(other.leaf.keyPem, chain.leaf.certPem, chain.intermediates[0]!.certPem), token);
    expect(mismatched.status).toBe(400);
    expect(mismatched.json.errors).toHaveLength(1);
    expect(mismatched.json.errors[0].details).toMatch(/private key .* none of the certificates/);
    expect((await peerCertificate(server.port)).fingerprint).toBe(before.fingerprint);
    expect(versionsInDb().n).toBe(count);
  });

  it('rejects an EC key with an RSA certificate (createSecureContext would load it)', async () => {
    const before = await peerCertificate(server.port);
    const rsa = await createChain({ keyKind: 'rsa2048' });
    const ec = await createChain({ keyKind: 'ec256' });
    const res = await server.upload(pemBundle(ec.leaf.keyPem, rsa.leaf.certPem, rsa.intermediates[0]!.certPem), token);
    expect(res.status).toBe(400);
    expect((await peerCertificate(server.port)).fingerprint).toBe(before.fingerprint);
  });

  it('answers 201 and changes nothing when the active bundle is uploaded again', async () => {
    const chain = await createChain();
    expect((await server.upload(chain.bundle, token)).status).toBe(201);
    const count = versionsInDb().n;
    expect((await server.upload(chain.bundle, token)).status).toBe(201);
    expect(versionsInDb().n).toBe(count);
  });

  it('validates without storing on ?dry_run=true', async () => {
    const count = versionsInDb().n;
    const before = await peerCertificate(server.port);
    const chain = await createChain({ sans: [] });
    const res = await server.upload(chain.bundle, token, {}, '?dry_run=true');
    expect(res.status).toBe(200);
    expect(res.json.report).toMatchObject({ valid: true, errors: [] });
    expect(res.json.report.certificate.fingerprint_sha256).toBe(fp(chain));
    expect(res.json.report.warnings.map((w: any) => w.rule)).toContain('no-san');
    const bad = await server.upload(pemBundle(chain.leaf.keyPem, chain.leaf.certPem), token, {}, '?dry_run=true');
    expect(bad.status).toBe(200);
    expect(bad.json.report.valid).toBe(false);
    expect(bad.json.report.errors.length).toBeGreaterThan(0);
    expect(versionsInDb().n).toBe(count);
    expect((await peerCertificate(server.port)).fingerprint).toBe(before.fingerprint);
    expect(JSON.stringify(res.json)).not.toContain('PRIVATE KEY');
  });

  it('answers 415 for a wrong Content-Type, 413 for a body over MAX_UPLOAD_BYTES, 1008 for an empty body', async () => {
    const chain = await createChain();
    const wrongType = await server.upload(chain.bundle, token, { 'Content-Type': 'application/json' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.json.errors[0].code).toBe(1009);
    const huge = await server.upload('A'.repeat(1_048_577), token);
    expect(huge.status).toBe(413);
    expect(huge.json.errors[0].code).toBe(1009);
    const empty = await server.upload('', token);
    expect(empty.status).toBe(400);
    expect(empty.json.errors[0].code).toBe(1008);
  });

  it('makes changes conditional on If-Match (412 when another change got there first)', async () => {
    const read = await server.request('GET', '/v1/certificates/external', { headers: bearer(token) });
    const current = read.json.certificates[0].fingerprint_sha256 as string;
    expect(read.headers.etag).toBe(`"${current}"`);
    const stale = 'f'.repeat(64);
    const chain = await createChain();
    const refused = await server.upload(chain.bundle, token, { 'If-Match': stale });
    expect(refused.status).toBe(412);
    expect(refused.json.errors[0].code).toBe(1009);
    expect((await active()).fingerprint_sha256).toBe(current);
    const colons = current.toUpperCase().match(/../g)!.join(':');
    expect((await server.upload(chain.bundle, token, { 'If-Match': `"${colons}"` })).status).toBe(201);
    expect((await server.request('DELETE', '/v1/certificates/external', { headers: { ...bearer(token), 'If-Match': current } })).status).toBe(412);
    const rollback = await server.request('POST', '/v1/certificates/external/rollback', { headers: { ...bearer(token), 'If-Match': stale, 'Content-Type': 'application/json' }, body: '{}' });
    expect(rollback.status).toBe(412);
  });

  it('lists every version newest first and rolls back (re-validated) to the previous or a named one', async () => {
    const a = await createChain();
    const b = await createChain();
    expect((await server.upload(a.bundle, token)).status).toBe(201);
    expect((await server.upload(b.bundle, token)).status).toBe(201);
    const list = await history();
    expect(list.map((v) => v.version)).toEqual([...list.map((v) => v.version)].sort((x, y) => y - x));
    expect(list.filter((v) => v.active)).toHaveLength(1);
    expect(list[0].fingerprint_sha256).toBe(fp(b));

    const back = await server.request('POST', '/v1/certificates/external/rollback', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: '{}' });
    expect(back.status).toBe(200);
    expect(back.json.certificates[0]).toMatchObject({ source: 'rollback', fingerprint_sha256: fp(a), active: true });
    expect((await peerCertificate(server.port)).fingerprint).toBe(fp(a));

    const named = list.find((v) => v.fingerprint_sha256 === fp(b))!.version;
    const forward = await server.request('POST', '/v1/certificates/external/rollback', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: JSON.stringify({ version: named }) });
    expect(forward.status).toBe(200);
    expect((await peerCertificate(server.port)).fingerprint).toBe(fp(b));

    const missing = await server.request('POST', '/v1/certificates/external/rollback', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: JSON.stringify({ version: 9999 }) });
    expect(missing.status).toBe(404);
    expect(missing.json.errors[0].code).toBe(1006);
    const wrong = await server.request('POST', '/v1/certificates/external/rollback', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: JSON.stringify({ version: 'two' }) });
    expect(wrong.status).toBe(400);
  });

  it('refuses to roll back to a version that has expired since', async () => {
    const shortLived = await createChain({ leaf: { notAfter: new Date(Date.now() + 40 * 86400_000) } });
    expect((await server.upload(shortLived.bundle, token)).status).toBe(201);
    const version = (await active()).version as number;
    const later = await createChain({ leaf: { notAfter: new Date(Date.now() + 400 * 86400_000) }, intermediate: { notAfter: new Date(Date.now() + 800 * 86400_000) }, root: { notAfter: new Date(Date.now() + 900 * 86400_000) } });
    expect((await server.upload(later.bundle, token)).status).toBe(201);
    server.clock.advance(60 * 86400_000);
    try {
      const before = await peerCertificate(server.port);
      const later_token = await server.adminToken();
      const res = await server.request('POST', '/v1/certificates/external/rollback', { headers: { ...bearer(later_token), 'Content-Type': 'application/json' }, body: JSON.stringify({ version }) });
      expect(res.status).toBe(400);
      expect(res.json.errors.map((e: any) => e.details).join(' ')).toMatch(/expired/);
      expect((await peerCertificate(server.port)).fingerprint).toBe(before.fingerprint);
    } finally {
      server.clock.advance(-60 * 86400_000);
      token = await server.adminToken();
    }
  });

  it('resets to a fresh self-signed default on DELETE, and can roll back to it', async () => {
    const res = await server.request('DELETE', '/v1/certificates/external', { headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(res.text).toBe('null');
    const version = await active();
    expect(version).toMatchObject({ source: 'default', chain: [] });
    expect((await peerCertificate(server.port)).fingerprint).toBe(version.fingerprint_sha256);
    const ca = await server.request('GET', '/v1/certificates/external/ca', { headers: bearer(token) });
    expect(ca.status).toBe(404);
    expect(ca.text).toBe('');
    const first = (await history()).at(-1)!;
    expect(first).toMatchObject({ version: 1, source: 'default' });
    const back = await server.request('POST', '/v1/certificates/external/rollback', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: JSON.stringify({ version: 1 }) });
    expect(back.status).toBe(200);
    expect((await peerCertificate(server.port)).fingerprint).toBe(first.fingerprint_sha256);
  });

  it('ends TLS sessions issued before a swap (new ticket keys with every certificate)', async () => {
    const session = await new Promise<Buffer>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false });
      socket.once('session', (s: Buffer) => {
        socket.end();
        resolve(s);
      });
      socket.once('error', reject);
    });
    const chain = await createChain();
    expect((await server.upload(chain.bundle, token)).status).toBe(201);
    const reused = await new Promise<boolean>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false, session });
      socket.once('secureConnect', () => {
        resolve(socket.isSessionReused());
        socket.end();
      });
      socket.once('error', reject);
    });
    expect(reused).toBe(false);
  });

  it('ends 20 concurrent uploads with the served certificate equal to the one the database calls active', async () => {
    const chains = await Promise.all(Array.from({ length: 20 }, () => createChain()));
    const results = await Promise.all(chains.map((chain) => server.upload(chain.bundle, token)));
    for (const res of results) expect([201, 503]).toContain(res.status);
    expect(results.filter((res) => res.status === 201).length).toBeGreaterThan(0);
    const row = server.hotcert.services.sqlite!.$client
      .prepare('select v.fingerprint_sha256 as fp from service_state s join certificate_versions v on v.version = s.active_version')
      .get() as { fp: string };
    expect((await peerCertificate(server.port)).fingerprint).toBe(row.fp);
    expect((await active()).fingerprint_sha256).toBe(row.fp);
  });
});

describe('a slow or saturated validation pool', () => {
  it.each([
    ['a validation runs past its time limit', { taskTimeoutMs: 1 }],
    ['the queue is full', { maxQueue: 0 }],
  ])('answers 503 with Retry-After when %s, and changes nothing', async (_case, start) => {
    const busy = await startTestServer({ start });
    try {
      const token = await busy.adminToken();
      const before = await peerCertificate(busy.port);
      const res = await busy.upload((await createChain()).bundle, token);
      expect(res.status).toBe(503);
      expect(res.json.errors[0]).toMatchObject({ code: 1011, title: 'Service not ready' });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect((await peerCertificate(busy.port)).fingerprint).toBe(before.fingerprint);
    } finally {
      await busy.close();
    }
  });
});

describe('root handling', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    token = await server.adminToken();
  });
  afterAll(() => server.close());

  const hex = (issued: IssuedCert) => hexFingerprint(issued.cert.fingerprint256);
  const activeVersion = async () => (await server.request('GET', '/v1/certificates/external', { headers: bearer(token) })).json.certificates[0];

  it('serves a chain uploaded without its root: leaf and intermediates, no warning about a root', async () => {
    const chain = await createChain({ intermediates: 2 });
    expect((await server.upload(chain.bundle, token)).status).toBe(201);
    const served = await peerCertificate(server.port);
    expect(served.chain).toEqual([fp(chain), ...chain.intermediates.map(hex)]);
    const version = await activeVersion();
    expect(version.chain.map((entry: any) => entry.fingerprint_sha256)).toEqual(chain.intermediates.map(hex));
    expect(version.warnings.map((w: any) => w.rule)).not.toContain('root-dropped');
  });

  it('drops a self-signed root uploaded at the top from what is served and stored, with a warning', async () => {
    const chain = await createChain({ intermediates: 2 });
    expect((await server.upload(pemBundle(chain.bundle, chain.root.certPem), token)).status).toBe(201);
    const served = await peerCertificate(server.port);
    expect(served.chain).toEqual([fp(chain), ...chain.intermediates.map(hex)]);
    expect(served.chain).not.toContain(hex(chain.root));
    const version = await activeVersion();
    expect(version.fingerprint_sha256).toBe(fp(chain));
    expect(version.chain.map((entry: any) => entry.fingerprint_sha256)).toEqual(chain.intermediates.map(hex));
    expect(version.warnings.map((w: any) => w.rule)).toContain('root-dropped');
    const intermediates = await server.request('GET', '/v1/certificates/external/ca', { headers: bearer(token) });
    expect(intermediates.text).not.toContain(chain.root.certPem.split('\n')[1]);
  });
});

describe('commits off the event loop', () => {
  it('keeps answering while another process holds the write lock, then fails the upload with 503 and serves the old certificate', async () => {
    const server = await startTestServer();
    const Database = (await import('better-sqlite3')).default;
    const path = await import('node:path');
    const blocker = new Database(path.join(server.dataDir, 'hotcert.db'));
    try {
      const token = await server.adminToken();
      const before = await peerCertificate(server.port);
      blocker.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      const pending = server.upload((await createChain()).bundle, token);
      // The commit waits for the lock on the writer thread; the event loop stays free meanwhile.
      let committed = false;
      void pending.then(() => (committed = true));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // Answered while the commit still waits (up to the 5 s busy timeout): order of events, not a time budget.
      expect((await server.request('GET', '/healthz')).status).toBe(200);
      expect(committed).toBe(false);
      // Nothing is swapped before the transaction holds the lock: the old certificate is still served.
      expect((await peerCertificate(server.port)).fingerprint).toBe(before.fingerprint);
      const res = await pending;
      expect(Date.now() - started).toBeGreaterThanOrEqual(4500);
      expect(res.status).toBe(503);
      expect(res.json.errors[0].code).toBe(1011);
      expect((await peerCertificate(server.port)).fingerprint).toBe(before.fingerprint);
      blocker.exec('ROLLBACK');
      expect((await server.upload((await createChain()).bundle, token)).status).toBe(201);
    } finally {
      if (blocker.inTransaction) blocker.exec('ROLLBACK');
      blocker.close();
      await server.close();
    }
  }, 20_000);
});
