import { createHash } from 'node:crypto';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerCertificate, request } from '../helpers/https-client.js';
import { createChain, type TestChain } from '../helpers/pki.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { expectedDownloadHash, startUpstream, type UpstreamApp } from './upstream-app.js';
import { connectWebSocket } from './websocket.js';

const SWAPS = 20;
const DOWNLOAD_BYTES = 64 * 1024 * 1024;
/** Each load loop stops when the swaps are done, or after this many requests, whichever comes first. */
const MAX_REQUESTS_PER_LOOP = 3000;

const fingerprint = (chain: TestChain) => chain.leaf.cert.fingerprint256.replaceAll(':', '').toLowerCase();

/** Resolves when `swapsDone()` reaches `count` (the swap loop calls the returned notifier after each swap). */
function swapCounter() {
  let done = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  return {
    get done() {
      return done;
    },
    swapped() {
      done += 1;
      for (const waiter of waiters.filter((w) => w.count <= done)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    reached: (count: number) => new Promise<void>((resolve) => (done >= count ? resolve() : waiters.push({ count, resolve }))),
  };
}

describe('certificate swaps every 200 ms under proxied traffic (issue 11 point 3)', () => {
  let upstream: UpstreamApp;
  let server: TestServer;
  let token: string;
  let chains: TestChain[];

  beforeAll(async () => {
    upstream = await startUpstream();
    // Short request/header timeouts: a tunnel or a long download the server mistook for a slow request would be cut.
    server = await startTestServer({ env: { UPSTREAM: upstream.url }, start: { requestTimeoutMs: 2000, headersTimeoutMs: 1000 } });
    token = await server.adminToken();
    chains = [];
    for (let i = 0; i < SWAPS; i++) chains.push(await createChain({ keyKind: 'ec256' }));
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  it('fails no request, keeps the WebSocket up, completes the download byte-exact, and new handshakes see each new certificate', async () => {
    const swaps = swapCounter();
    let stop = false;
    const failures: string[] = [];
    const counts = { keepAlive: 0, fresh: 0 };

    const keepAliveAgent = new https.Agent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: false });
    const keepAliveLoop = async (worker: number) => {
      for (let i = 0; i < MAX_REQUESTS_PER_LOOP && !stop; i++) {
        try {
          const res = await request(server.port, 'GET', `/app/keep-alive/${worker}/${i}`, { agent: keepAliveAgent });
          if (res.status !== 200 || res.json?.url !== `/app/keep-alive/${worker}/${i}`) failures.push(`keep-alive ${res.status}`);
          counts.keepAlive++;
        } catch (error) {
          failures.push(`keep-alive ${(error as Error).message}`);
        }
      }
    };
    const freshLoop = async () => {
      for (let i = 0; i < MAX_REQUESTS_PER_LOOP && !stop; i++) {
        try {
          const res = await request(server.port, 'POST', `/upload`, { body: `fresh ${i}`, headers: { 'Content-Type': 'text/plain' } });
          if (res.status !== 200 || res.json?.bytes !== `fresh ${i}`.length) failures.push(`fresh ${res.status}`);
          counts.fresh++;
        } catch (error) {
          failures.push(`fresh ${(error as Error).message}`);
        }
      }
    };

    const ws = await connectWebSocket(server.port, '/ws');
    expect(await ws.echo('before the swaps')).toBe('before the swaps');
    const wsLoop = async () => {
      for (let i = 1; i <= SWAPS; i++) {
        await swaps.reached(i);
        const text = `after swap ${i}`;
        const echoed = await ws.echo(text).catch((error: Error) => error.message);
        if (echoed !== text) failures.push(`websocket: ${echoed}`);
      }
    };

    // The reader pauses after its first chunk until a third of the swaps are done, and again halfway, so the
    // download is certainly in flight while certificates change, whatever the machine's speed.
    const download = new Promise<{ status: number; bytes: number; sha256: string; swapsWhileReading: number[] }>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: server.port, path: `/download?bytes=${DOWNLOAD_BYTES}`, rejectUnauthorized: false, agent: false },
        (res) => {
          const hash = createHash('sha256');
          let bytes = 0;
          const swapsWhileReading: number[] = [];
          let pausedOnce = false;
          let pausedTwice = false;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            hash.update(chunk);
            const gate = !pausedOnce ? Math.ceil(SWAPS / 3) : !pausedTwice && bytes >= DOWNLOAD_BYTES / 2 ? Math.ceil((2 * SWAPS) / 3) : 0;
            if (gate === 0) return;
            if (pausedOnce) pausedTwice = true;
            pausedOnce = true;
            res.pause();
            void swaps.reached(gate).then(() => {
              swapsWhileReading.push(swaps.done);
              res.resume();
            });
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex'), swapsWhileReading }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });

    const loops = [keepAliveLoop(1), keepAliveLoop(2), keepAliveLoop(3), freshLoop(), wsLoop()];

    const presented: string[] = [];
    for (const chain of chains) {
      const res = await server.upload(chain.bundle, token);
      expect(res.status).toBe(201);
      presented.push((await peerCertificate(server.port)).fingerprint);
      swaps.swapped();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const downloaded = await download;
    stop = true;
    await Promise.all(loops);
    keepAliveAgent.destroy();

    expect(failures).toEqual([]);
    expect(presented).toEqual(chains.map(fingerprint));
    expect(counts.keepAlive).toBeGreaterThan(0);
    expect(counts.fresh).toBeGreaterThan(0);
    expect(await ws.echo('after all swaps')).toBe('after all swaps');
    await ws.close();
    expect(downloaded.status).toBe(200);
    expect(downloaded.bytes).toBe(DOWNLOAD_BYTES);
    expect(downloaded.sha256).toBe(expectedDownloadHash(DOWNLOAD_BYTES));
    // Both pauses ended only after swaps had happened mid-download.
    expect(downloaded.swapsWhileReading).toHaveLength(2);
    expect(downloaded.swapsWhileReading[0]!).toBeGreaterThanOrEqual(Math.ceil(SWAPS / 3));
    expect(downloaded.swapsWhileReading[1]!).toBeGreaterThanOrEqual(Math.ceil((2 * SWAPS) / 3));
  });
});
