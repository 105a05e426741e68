import path from 'node:path';
import tls from 'node:tls';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../helpers/https-client.js';
import { createChain, hexFingerprint as hex } from '../helpers/pki.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

interface Handshake {
  reused: boolean;
  fingerprint: string;
  session: Buffer;
}

/** One real handshake; waits for the session ticket (TLS 1.3 sends it just after the handshake). */
function handshake(port: number, options: { session?: Buffer; maxVersion?: tls.SecureVersion } = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, session: options.session, maxVersion: options.maxVersion });
    let connected: { reused: boolean; fingerprint: string } | undefined;
    let ticket: Buffer | undefined;
    const done = () => {
      if (!connected || !ticket) return;
      socket.end();
      resolve({ ...connected, session: ticket });
    };
    socket.once('error', reject);
    socket.once('session', (value: Buffer) => {
      ticket = value;
      done();
    });
    socket.once('secureConnect', () => {
      // A resumed TLS 1.2 session carries no certificate: '' then.
      const peer = socket.getPeerCertificate();
      connected = { reused: socket.isSessionReused(), fingerprint: peer.fingerprint256 ? hex(peer.fingerprint256) : '' };
      // A resumed session need not bring a new ticket: the one we offered is the one that counts.
      if (connected.reused && !ticket) ticket = options.session;
      done();
    });
  });
}

describe('TLS sessions end with their certificate', () => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer();
    token = await server.adminToken();
  });
  afterAll(() => server.close());

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`${version}: a session resumes until an upload, rollback or reset, never afterwards`, async () => {
      let first = await handshake(server.port, { maxVersion: version });
      expect(first.reused).toBe(false);
      // Without a swap the session resumes (so the checks below can fail for the right reason).
      const again = await handshake(server.port, { maxVersion: version, session: first.session });
      expect(again.reused).toBe(true);

      const chain = await createChain();
      expect((await server.upload(chain.bundle, token)).status).toBe(201);
      const afterUpload = await handshake(server.port, { maxVersion: version, session: first.session });
      expect(afterUpload.reused).toBe(false);
      expect(afterUpload.fingerprint).toBe(hex(chain.leaf.cert.fingerprint256));

      first = afterUpload;
      const rollback = await server.request('POST', '/v1/certificates/external/rollback', { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: '{}' });
      expect(rollback.status).toBe(200);
      const afterRollback = await handshake(server.port, { maxVersion: version, session: first.session });
      expect(afterRollback.reused).toBe(false);
      expect(afterRollback.fingerprint).not.toBe(hex(chain.leaf.cert.fingerprint256));

      first = afterRollback;
      expect((await server.request('DELETE', '/v1/certificates/external', { headers: bearer(token) })).status).toBe(200);
      const afterReset = await handshake(server.port, { maxVersion: version, session: first.session });
      expect(afterReset.reused).toBe(false);
      expect(afterReset.fingerprint).not.toBe(first.fingerprint);
    });
  }

  it('keeps the ticket keys random, sealed in the database, and new after every swap', async () => {
    const live = () => server.hotcert.listener.server.getTicketKeys();
    const stored = () => {
      const db = new Database(path.join(server.dataDir, 'hotcert.db'), { readonly: true });
      try {
        return (db.prepare("SELECT value FROM settings WHERE name = 'tls.ticket_keys'").get() as { value: Buffer } | undefined)?.value;
      } finally {
        db.close();
      }
    };
    const before = live();
    const sealedBefore = stored();
    expect(sealedBefore).toBeInstanceOf(Buffer);
    expect(sealedBefore!.includes(before)).toBe(false);
    expect(sealedBefore!.includes(before.subarray(0, 16))).toBe(false);

    expect((await server.upload((await createChain()).bundle, token)).status).toBe(201);
    const after = live();
    expect(after.equals(before)).toBe(false);
    expect(stored()!.equals(sealedBefore!)).toBe(false);
    expect(stored()!.includes(after.subarray(16, 32))).toBe(false);
  });
});

/** Two server processes on one data directory (b started on a's), for the describe block that calls it. */
function twoProcessesOnOneDataDir(): { a: TestServer; b: TestServer } {
  const servers = {} as { a: TestServer; b: TestServer };
  beforeAll(async () => {
    servers.a = await startTestServer();
    servers.b = await startTestServer({ dataDir: servers.a.dataDir });
  });
  afterAll(async () => {
    await servers.b?.close();
    await servers.a?.close();
  });
  return servers;
}

describe('TLS session-ticket keys are shared by every process on one data directory', () => {
  const servers = twoProcessesOnOneDataDir();

  it('a session from one process resumes on the other, until a change made on either ends it on both', async () => {
    const { a, b } = servers;
    const fromA = await handshake(a.port, { maxVersion: 'TLSv1.2' });
    expect((await handshake(b.port, { maxVersion: 'TLSv1.2', session: fromA.session })).reused).toBe(true);

    const token = await a.adminToken();
    const chain = await createChain();
    expect((await a.upload(chain.bundle, token)).status).toBe(201);
    // Wait (by events, not time) until b has picked the change up through the database.
    let seen = '';
    for (let probe = 0; probe < 400 && seen !== hex(chain.leaf.cert.fingerprint256); probe++) {
      seen = (await handshake(b.port, { maxVersion: 'TLSv1.2' })).fingerprint;
      if (seen !== hex(chain.leaf.cert.fingerprint256)) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(seen).toBe(hex(chain.leaf.cert.fingerprint256));
    const late = await handshake(b.port, { maxVersion: 'TLSv1.2', session: fromA.session });
    expect(late.reused).toBe(false);
    // New sessions are shared again: made on b, resumed on a.
    expect((await handshake(a.port, { maxVersion: 'TLSv1.2', session: late.session })).reused).toBe(true);
  });
});

describe('TLS session-ticket keys also age out without a certificate change', () => {
  const servers = twoProcessesOnOneDataDir();

  it('a day later the hourly check replaces them once, and every process takes the new ones', async () => {
    const { a, b } = servers;
    const before = await handshake(a.port, { maxVersion: 'TLSv1.2' });
    await a.hotcert.services.certificates.refreshTicketKeys();
    expect((await handshake(a.port, { maxVersion: 'TLSv1.2', session: before.session })).reused).toBe(true);

    a.clock.advance(25 * 60 * 60 * 1000);
    await a.hotcert.services.certificates.refreshTicketKeys();
    const onA = await handshake(a.port, { maxVersion: 'TLSv1.2', session: before.session });
    expect(onA.reused).toBe(false);
    // b's clock is a day behind: it must not rotate again, only take the keys a stored.
    await b.hotcert.services.certificates.refreshTicketKeys();
    expect(b.hotcert.listener.server.getTicketKeys().equals(a.hotcert.listener.server.getTicketKeys())).toBe(true);
    expect((await handshake(b.port, { maxVersion: 'TLSv1.2', session: onA.session })).reused).toBe(true);
    expect((await handshake(b.port, { maxVersion: 'TLSv1.2', session: before.session })).reused).toBe(false);
  });
});
