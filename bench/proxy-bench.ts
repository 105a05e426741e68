import autocannon from 'autocannon';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { adminToken, createClient, upload } from './client.js';
import { ROOT, spawnProcess, type MemorySample, type RunningProcess } from '../test/helpers/server-process.js';
import { swapsUnderLoad, type SwapsUnderLoadResult } from './load.js';
import type { BenchBundle } from './pki.js';
import { distribution, round, sleep, type Distribution } from './stats.js';
import { target, type Target } from './targets.js';

/** Issue 11's reference figures on this machine (each proxy on one core, 1 KiB, 50 keep-alive connections). */
export const CADDY_REQUESTS_PER_SECOND = 8_900;
const CONNECTIONS = 50;
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

export interface RateResult {
  requestsPerSecond: number;
  ok: number;
  failed: number;
  seconds: number;
}

/** Keep-alive load with `CONNECTIONS` connections for `seconds`; counts 2xx answers only. */
export function rate(url: string, seconds: number, connections = CONNECTIONS): Promise<RateResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds, timeout: 10, servername: 'localhost' }, (error, result) => {
      if (error) return reject(error);
      const elapsed = (performance.now() - started) / 1000;
      const failed = result.non2xx + result.errors + result.timeouts;
      resolve({ requestsPerSecond: round(result['2xx'] / elapsed, 0), ok: result['2xx'], failed, seconds: round(elapsed, 1) });
    });
  });
}

export interface LatencyResult extends Distribution {
  ratePerSecond: number;
  failed: number;
  /** Requests not sent because too many were already waiting (the target was overloaded). */
  skipped: number;
}

/**
 * Open-loop latency at a fixed request rate: requests leave on schedule (in 5 ms batches) over a keep-alive
 * pool, whether or not earlier ones have answered; each is timed from send to last byte. The first 0.5 s warms up.
 */
export async function latencyAt(url: string, ratePerSecond: number, seconds: number, connections = CONNECTIONS): Promise<LatencyResult> {
  const secure = url.startsWith('https:');
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: connections, rejectUnauthorized: false }) : new http.Agent({ keepAlive: true, maxSockets: connections });
  const get = secure ? https.get : http.get;
  const samples: number[] = [];
  let failed = 0;
  let skipped = 0;
  let inFlight = 0;
  let sent = 0;
  const started = performance.now();
  const fire = () => {
    const t0 = performance.now();
    inFlight++;
    const done = (ok: boolean) => {
      inFlight--;
      if (!ok) failed++;
      else if (t0 - started >= 500) samples.push(performance.now() - t0);
    };
    get(url, { agent, servername: 'localhost' }, (res) => {
      res.resume();
      res.once('end', () => done(res.statusCode === 200));
      res.once('error', () => done(false));
    }).once('error', () => done(false));
  };
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      if (elapsed >= seconds * 1000) {
        clearInterval(timer);
        return resolve();
      }
      const due = Math.floor((elapsed / 1000) * ratePerSecond) - sent;
      for (let i = 0; i < due; i++, sent++) {
        if (inFlight >= connections * 4) skipped++;
        else fire();
      }
    }, 5);
  });
  for (let waited = 0; inFlight > 0 && waited < 10_000; waited += 50) await sleep(50);
  agent.destroy();
  return { ...distribution(samples), ratePerSecond: round(ratePerSecond, 0), failed, skipped };
}

export interface SlowDownloadResult {
  bytes: number;
  expectedBytes: number;
  complete: boolean;
  seconds: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssGrowthMb: number;
}

/** GET a `bytes`-long stream through hotcert, reading at most ~125 MB/s (8 ms pause per MiB); samples hotcert's RSS. */
export async function slowDownload(server: RunningProcess, bytes: number, maxMs: number): Promise<SlowDownloadResult> {
  const before = await server.memory();
  let peak = before.rss;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const sample: MemorySample = await server.memory();
      peak = Math.max(peak, sample.rss);
      await sleep(200);
    }
  })();
  const started = performance.now();
  const received = await new Promise<number>((resolve) => {
    let got = 0;
    const req = https.get({ host: '127.0.0.1', port: server.port, path: `/stream?bytes=${bytes}`, rejectUnauthorized: false, agent: false, servername: 'localhost' }, (res) => {
      let sincePause = 0;
      const deadline = setTimeout(() => req.destroy(), maxMs);
      res.on('data', (chunk: Buffer) => {
        got += chunk.length;
        sincePause += chunk.length;
        if (sincePause >= MIB) {
          sincePause = 0;
          res.pause();
          setTimeout(() => res.resume(), 8);
        }
      });
      res.once('end', () => (clearTimeout(deadline), resolve(got)));
      res.once('close', () => (clearTimeout(deadline), resolve(got)));
    });
    req.once('error', () => resolve(got));
  });
  const seconds = (performance.now() - started) / 1000;
  sampling = false;
  await sampler;
  const mb = (n: number) => round(n / 1e6, 1);
  return { bytes: received, expectedBytes: bytes, complete: received === bytes, seconds: round(seconds, 1), rssBeforeMb: mb(before.rss), rssPeakMb: mb(peak), rssGrowthMb: mb(peak - before.rss) };
}

export interface ProxyResults {
  upstream: string;
  secondsPerRun: number;
  connections: number;
  workers1: { rates: Record<'1k' | '64k', { hotcert: RateResult; passThrough: RateResult; ratio: number }>; latency: { direct: LatencyResult; hotcert: LatencyResult; passThrough: LatencyResult } };
  workers2: { rates: Record<'1k' | '64k', RateResult>; scaling: number; latency: { direct: LatencyResult; hotcert: LatencyResult } };
  swaps: SwapsUnderLoadResult;
  download: SlowDownloadResult;
  targets: Target[];
}

/**
 * Issue 11 item 4: hotcert with UPSTREAM against a minimal node:https → node:http pass-through, both in front of
 * the same node:http upstream, all as separate processes on 127.0.0.1, measured in the same run.
 */
export async function measureProxy(options: {
  tmp: string;
  bundles: BenchBundle[];
  seconds: number;
  log: (line: string) => void;
  cleanup: (() => Promise<void> | void)[];
}): Promise<ProxyResults> {
  const { tmp, bundles, seconds, log, cleanup } = options;
  const bundle = bundles[0]!;
  const start = async (spawn: Parameters<typeof spawnProcess>[0]) => {
    const proc = await spawnProcess(spawn);
    cleanup.unshift(() => proc.stop());
    return proc;
  };
  const script = (name: string) => path.join(ROOT, 'dist', 'bench', name);
  const upstream = await start({ dataDir: tmp, script: script('proxy-upstream.js'), args: [] });
  const direct = (p: string) => `http://127.0.0.1:${upstream.port}${p}`;
  const env = { UPSTREAM: `http://127.0.0.1:${upstream.port}` };

  const hotcert = await start({ dataDir: path.join(tmp, 'proxy-1'), env });
  const client = createClient(hotcert.port);
  cleanup.unshift(() => client.close());
  const token = await adminToken(client);
  await upload(client, token, bundle.pem);
  const passConfig = path.join(tmp, 'pass.json');
  writeFileSync(passConfig, JSON.stringify({ keyPem: bundle.keyPem, certPem: [bundle.certPem, ...bundle.chainPems].join('\n'), upstreamPort: upstream.port }));
  const pass = await start({ dataDir: tmp, script: script('pass-through.js'), args: [], env: { PASS_CONFIG: passConfig } });
  const at = (port: number, p: string) => `https://127.0.0.1:${port}${p}`;

  log('proxy: warm-up');
  await rate(at(hotcert.port, '/1k'), 1);
  await rate(at(pass.port, '/1k'), 1);
  const rates = {} as ProxyResults['workers1']['rates'];
  for (const size of ['1k', '64k'] as const) {
    log(`proxy: keep-alive ${size} responses, ${CONNECTIONS} connections, ${seconds} s each (hotcert, pass-through)`);
    const h = await rate(at(hotcert.port, `/${size}`), seconds);
    const p = await rate(at(pass.port, `/${size}`), seconds);
    rates[size] = { hotcert: h, passThrough: p, ratio: round(h.requestsPerSecond / p.requestsPerSecond, 3) };
  }
  const half = rates['1k'].hotcert.requestsPerSecond / 2;
  log(`proxy: latency at half load (${round(half, 0)} req/s): direct, hotcert, pass-through`);
  const latency = {
    direct: await latencyAt(direct('/1k'), half, seconds),
    hotcert: await latencyAt(at(hotcert.port, '/1k'), half, seconds),
    passThrough: await latencyAt(at(pass.port, '/1k'), half, seconds),
  };
  await pass.stop();

  log('proxy: swaps every 200 ms under proxied keep-alive load (2 × 4 s segments)');
  const swaps = await swapsUnderLoad({ port: hotcert.port, token, client, bundles: bundles.slice(0, 2), segmentSeconds: 4, segments: 2, path: '/1k', headers: {} });
  await hotcert.stop();

  log('proxy: WORKERS=2');
  const two = await start({ dataDir: path.join(tmp, 'proxy-2'), env: { ...env, WORKERS: '2' }, listenings: 2 });
  await rate(at(two.port, '/1k'), 1);
  const rates2 = { '1k': await rate(at(two.port, '/1k'), seconds), '64k': await rate(at(two.port, '/64k'), seconds) };
  const half2 = rates2['1k'].requestsPerSecond / 2;
  const latency2 = { direct: await latencyAt(direct('/1k'), half2, seconds), hotcert: await latencyAt(at(two.port, '/1k'), half2, seconds) };
  await two.stop();

  log('proxy: 1 GiB streamed through hotcert to a slow reader');
  const memoryServer = await start({ dataDir: path.join(tmp, 'proxy-memory'), env, hook: true });
  await rate(at(memoryServer.port, '/64k'), 1, 4);
  const download = await slowDownload(memoryServer, GIB, 60_000);
  await memoryServer.stop();
  await upstream.stop();

  const added = (l: { direct: LatencyResult; hotcert: LatencyResult }) => ({ p50: round(l.hotcert.p50 - l.direct.p50, 2), p99: round(l.hotcert.p99 - l.direct.p99, 2) });
  const added1 = added(latency);
  const added2 = added(latency2);
  const scaling = round(rates2['1k'].requestsPerSecond / rates['1k'].hotcert.requestsPerSecond, 3);
  const r1 = rates['1k'].hotcert.requestsPerSecond;
  const targets = [
    target('proxied 1 KiB req/s vs pass-through', '≥ 0.9×', `${rates['1k'].ratio}× (${r1} vs ${rates['1k'].passThrough.requestsPerSecond})`, rates['1k'].ratio >= 0.9),
    target('proxied 64 KiB req/s vs pass-through', '≥ 0.9×', `${rates['64k'].ratio}× (${rates['64k'].hotcert.requestsPerSecond} vs ${rates['64k'].passThrough.requestsPerSecond})`, rates['64k'].ratio >= 0.9),
    target("proxied 1 KiB req/s vs Caddy's", `≥ ${CADDY_REQUESTS_PER_SECOND}`, String(r1), r1 >= CADDY_REQUESTS_PER_SECOND),
    target('WORKERS=2 vs WORKERS=1 (1 KiB req/s)', '≥ 1.6×', `${scaling}× (${rates2['1k'].requestsPerSecond} vs ${r1})`, scaling >= 1.6),
    target('added p99 at half load, WORKERS=1', '≤ 2 ms', `${added1.p99} ms (p50 ${added1.p50} ms)`, added1.p99 <= 2),
    target('added p99 at half load, WORKERS=2', '≤ 2 ms', `${added2.p99} ms (p50 ${added2.p50} ms)`, added2.p99 <= 2),
    target('RSS growth streaming 1 GiB to a slow reader', '≤ 64 MiB', `${round(download.rssGrowthMb / 1.048576, 1)} MiB${download.complete ? '' : ' (DOWNLOAD INCOMPLETE)'}`, download.complete && download.rssGrowthMb <= 64 * 1.048576),
    target('failed proxied requests/handshakes, swap every 200 ms', '0', `${swaps.withSwaps.failedRequests} / ${swaps.withSwaps.failedHandshakes} (${swaps.withSwaps.swaps} swaps)`, swaps.withSwaps.failedRequests === 0 && swaps.withSwaps.failedHandshakes === 0 && swaps.withSwaps.swaps > 0),
  ];
  return {
    upstream: 'node:http, own process; GET /1k, /64k, /stream?bytes=N',
    secondsPerRun: seconds,
    connections: CONNECTIONS,
    workers1: { rates, latency },
    workers2: { rates: rates2, scaling, latency: latency2 },
    swaps,
    download,
    targets,
  };
}
