import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { adminToken, bearer, peerCertificate, request } from '../helpers/https-client.js';
import { createChain, leafFingerprint as fp } from '../helpers/pki.js';
import { servedByEveryProcess, spawnServer, type SpawnedServer } from '../helpers/spawn-server.js';

const upload = (port: number, token: string, body: string) =>
  request(port, 'POST', '/v1/certificates/external', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body });

/** `handshakes` fresh connections at once, each presenting `fingerprint`. */
async function servesOnEveryHandshake(port: number, fingerprint: string, handshakes = 1): Promise<boolean> {
  const peers = await Promise.all(Array.from({ length: handshakes }, () => peerCertificate(port)));
  return peers.every((peer) => peer.fingerprint === fingerprint);
}

function activeInDb(dataDir: string): string {
  const db = new Database(path.join(dataDir, 'hotcert.db'), { readonly: true });
  try {
    const row = db.prepare('select v.fingerprint_sha256 as fp from service_state s join certificate_versions v on v.version = s.active_version').get() as { fp: string };
    return row.fp;
  } finally {
    db.close();
  }
}

// Up to three processes per test; on a busy machine one start takes seconds. A safety net, not a budget.
describe('many processes on one data directory', { timeout: 120_000 }, () => {
  const started: SpawnedServer[] = [];
  const dirs: string[] = [];
  const newDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-proc-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.stop('SIGKILL')));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('two servers on different ports stay in step, whichever one changes', async () => {
    const dir = newDir();
    const a = await spawnServer({ DATA_DIR: dir });
    started.push(a);
    const b = await spawnServer({ DATA_DIR: dir });
    started.push(b);
    expect(b.listening.fingerprint_sha256).toBe(a.listening.fingerprint_sha256);
    const tokenA = await adminToken(a.port);
    const first = await createChain();
    expect((await upload(a.port, tokenA, first.bundle)).status).toBe(201);
    await servedByEveryProcess(b, fp(first));
    expect(await servesOnEveryHandshake(b.port, fp(first))).toBe(true);

    const tokenB = await adminToken(b.port);
    const second = await createChain();
    expect((await upload(b.port, tokenB, second.bundle)).status).toBe(201);
    await servedByEveryProcess(a, fp(second));
    expect(await servesOnEveryHandshake(a.port, fp(second))).toBe(true);
    expect(activeInDb(dir)).toBe(fp(second));
  });

  it('WORKERS=2 runs two processes on one port that all serve a change', async () => {
    const dir = newDir();
    const server = await spawnServer({ DATA_DIR: dir, WORKERS: '2' }, { listenings: 2 });
    started.push(server);
    const pids = new Set(server.logs.filter((entry) => entry.event === 'listening').map((entry) => entry.pid));
    expect(pids.size).toBe(2);
    const token = await adminToken(server.port);
    const chain = await createChain();
    expect((await upload(server.port, token, chain.bundle)).status).toBe(201);
    await servedByEveryProcess(server, fp(chain));
    // Eight fresh handshakes at once spread over both workers.
    expect(await servesOnEveryHandshake(server.port, fp(chain), 8)).toBe(true);
  });

  it('resumes TLS sessions on either WORKERS=2 process and after a restart (shared ticket keys)', async () => {
    const dir = newDir();
    const first = await spawnServer({ DATA_DIR: dir, WORKERS: '2' }, { listenings: 2 });
    started.push(first);
    const connect = (port: number, session?: Buffer) =>
      new Promise<{ reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
        let ticket: Buffer | undefined;
        const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, session });
        socket.once('error', reject);
        socket.on('session', (value: Buffer) => (ticket = value));
        socket.once('secureConnect', () => {
          // TLS 1.3 tickets arrive just after the handshake.
          setTimeout(() => {
            resolve({ reused: socket.isSessionReused(), session: ticket });
            socket.end();
          }, 50);
        });
      });
    const { session } = await connect(first.port);
    expect(session).toBeInstanceOf(Buffer);
    const again = await Promise.all(Array.from({ length: 8 }, () => connect(first.port, session)));
    expect(again.every((attempt) => attempt.reused)).toBe(true);
    await first.stop();
    const second = await spawnServer({ DATA_DIR: dir, PORT: String(first.port) });
    started.push(second);
    expect((await connect(second.port, session)).reused).toBe(true);
  });

  it('shuts down gracefully on SIGTERM: the in-flight upload completes, then exit 0', async () => {
    const dir = newDir();
    const server = await spawnServer({ DATA_DIR: dir });
    const token = await adminToken(server.port);
    const chain = await createChain();
    const half = Math.floor(chain.bundle.length / 2);
    const response = new Promise<number>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: server.port, method: 'POST', path: '/v1/certificates/external', rejectUnauthorized: false, agent: false,
          headers: { ...bearer(token), 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(chain.bundle)) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(chain.bundle.slice(0, half));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end(chain.bundle.slice(half)), 300);
      }, 100);
    });
    const exit = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
    expect(await response).toBe(201);
    expect(await exit).toBe(0);
    expect(activeInDb(dir)).toBe(fp(chain));
  });

  it('exits at once on a second signal', async () => {
    const dir = newDir();
    const server = await spawnServer({ DATA_DIR: dir });
    started.push(server);
    // Keep an upload open (half its body sent) so the first signal has something to wait for.
    const token = await adminToken(server.port);
    const req = https.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/v1/certificates/external', rejectUnauthorized: false, agent: false,
      headers: { ...bearer(token), 'Content-Type': 'text/plain', 'Content-Length': '100' } });
    req.on('error', () => undefined);
    req.write('-----BEGIN');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const exit = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
    let answered = false;
    req.on('response', () => (answered = true));
    server.child.kill('SIGTERM');
    // The first signal started the graceful shutdown (which would wait up to 10 s for the open upload)...
    await server.waitForLog((entry) => entry.event === 'shutdown');
    server.child.kill('SIGINT');
    // ...and the second ends the process without waiting for it: exit 1, the upload never answered.
    expect(await exit).toBe(1);
    expect(server.logs.some((entry) => entry.event === 'shutdown.forced')).toBe(true);
    expect(answered).toBe(false);
    req.destroy();
  });
});

describe('crash safety', () => {
  it('survives SIGKILL at random moments during uploads: always boots, serves what the database calls active, integrity ok', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-kill-'));
    const chains = await Promise.all(Array.from({ length: 6 }, () => createChain()));
    // Each round is a process start, uploads and a kill at a random moment; 20 (was 30) keep the suite within 6 minutes.
    const rounds = 20;
    // Acknowledged uploads that must each be a new version: the loop cycles through different bundles, so every 201
    // of a round but its first (which may repeat the bundle already active) committed one.
    let acknowledgedNew = 0;
    try {
      for (let round = 0; round < rounds; round++) {
        const server = await spawnServer({ DATA_DIR: dir });
        const served = await peerCertificate(server.port);
        expect(served.fingerprint).toBe(activeInDb(dir));
        const token = await adminToken(server.port);
        let stop = false;
        let acknowledged = 0;
        let twoAcknowledged!: () => void;
        const reachedTwo = new Promise<void>((resolve) => (twoAcknowledged = resolve));
        const loop = (async () => {
          for (let i = 0; !stop && i < 50; i++) {
            const res = await upload(server.port, token, chains[(round + i) % chains.length]!.bundle).catch(() => undefined);
            if (!stop && res?.status === 201 && ++acknowledged === 2) twoAcknowledged();
          }
        })();
        // Kill among real uploads: once two have been acknowledged, at a random moment of the ones that follow.
        await Promise.race([reachedTwo, loop]);
        expect(acknowledged).toBeGreaterThanOrEqual(2);
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 30)));
        stop = true;
        const countedAtKill = acknowledged;
        await server.stop('SIGKILL');
        await loop;
        acknowledgedNew += countedAtKill - 1;
      }
      const db = new Database(path.join(dir, 'hotcert.db'));
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
      const last = await spawnServer({ DATA_DIR: dir });
      expect((await peerCertificate(last.port)).fingerprint).toBe(activeInDb(dir));
      await last.stop();
      // Every acknowledged upload survived the kills (plus the first boot's default), at least one more per round.
      const check = new Database(path.join(dir, 'hotcert.db'), { readonly: true });
      const versions = (check.prepare('select count(*) as n from certificate_versions').get() as { n: number }).n;
      check.close();
      expect(acknowledgedNew).toBeGreaterThanOrEqual(rounds);
      expect(versions).toBeGreaterThanOrEqual(1 + acknowledgedNew);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
