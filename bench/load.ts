import autocannon, { type Result } from 'autocannon';
import { handshakeLoop, upload, type Client } from './client.js';
import type { BenchBundle } from './pki.js';
import { round, sleep } from './stats.js';

export interface KeepAliveResult {
  requestsPerSecond: number;
  ok: number;
  failed: number;
  seconds: number;
}

const CONNECTIONS = 16;

/** Keep-alive load on one route; counts answers by second-long phases the caller marks with `phase()`. */
function startKeepAlive(port: number, path: string, headers: Record<string, string>, seconds: number) {
  const counts = new Map<string, { ok: number; failed: number }>();
  let phase = 'default';
  const bucket = () => {
    let entry = counts.get(phase);
    if (!entry) counts.set(phase, (entry = { ok: 0, failed: 0 }));
    return entry;
  };
  const done = new Promise<Result>((resolve, reject) => {
    const instance = autocannon(
      { url: `https://127.0.0.1:${port}${path}`, connections: CONNECTIONS, duration: seconds, headers, servername: 'localhost', timeout: 10 },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', (_client: unknown, status: number) => {
      if (status >= 200 && status < 300) bucket().ok++;
      else bucket().failed++;
    });
    instance.on('reqError', () => bucket().failed++);
  });
  return {
    setPhase(name: string) {
      phase = name;
    },
    counts,
    done,
  };
}

export async function keepAliveRate(port: number, path: string, headers: Record<string, string>, seconds: number): Promise<KeepAliveResult> {
  const run = startKeepAlive(port, path, headers, seconds);
  const started = performance.now();
  await run.done;
  const elapsed = (performance.now() - started) / 1000;
  const c = run.counts.get('default') ?? { ok: 0, failed: 0 };
  return { requestsPerSecond: round(c.ok / elapsed, 0), ok: c.ok, failed: c.failed, seconds: round(elapsed, 1) };
}

export interface HandshakeRateResult {
  handshakesPerSecond: number;
  ok: number;
  failed: number;
  seconds: number;
}

export async function handshakeRate(port: number, seconds: number, concurrency = 8): Promise<HandshakeRateResult> {
  const loop = handshakeLoop(port, { concurrency, maxMs: seconds * 1000 });
  await sleep(seconds * 1000);
  const counts = await loop.stop();
  return { handshakesPerSecond: round(counts.ok / counts.seconds, 0), ok: counts.ok, failed: counts.failed, seconds: round(counts.seconds, 1) };
}

export interface SwapsUnderLoadResult {
  segmentSeconds: number;
  segments: number;
  withoutSwaps: { requestsPerSecond: number; ok: number; failedRequests: number; handshakesPerSecond: number; failedHandshakes: number };
  withSwaps: { requestsPerSecond: number; ok: number; failedRequests: number; handshakesPerSecond: number; failedHandshakes: number; swaps: number; failedSwaps: number; unexpectedLeaf: number };
  ratio: number;
  failures: Record<string, number>;
}

/**
 * One continuous run of keep-alive load plus a new-connection loop; segments alternate between no swaps and a
 * swap every 200 ms (ABAB…, so drift hits both sides alike). Requests and handshakes are attributed to the
 * segment in which they completed.
 */
export async function swapsUnderLoad(options: {
  port: number;
  token: string;
  client: Client;
  bundles: BenchBundle[];
  segmentSeconds: number;
  segments: number;
  /** What the keep-alive load asks for (default GET /v1/health with the token), e.g. a proxied path. */
  path?: string;
  headers?: Record<string, string>;
}): Promise<SwapsUnderLoadResult> {
  const { port, token, client, bundles, segmentSeconds, segments } = options;
  const total = segmentSeconds * segments;
  const load = startKeepAlive(port, options.path ?? '/v1/health', options.headers ?? { authorization: `Bearer ${token}` }, total + 1);
  const handshakes = handshakeLoop(port, { concurrency: 2, maxMs: (total + 2) * 1000 });
  const tally = {
    off: { seconds: 0, handshakesOk: 0, handshakesFailed: 0 },
    on: { seconds: 0, handshakesOk: 0, handshakesFailed: 0, swaps: 0, failedSwaps: 0 },
  };
  let next = 0;
  // Settle first: connections are opened and the server is warm before counting.
  load.setPhase('warmup');
  await sleep(500);
  for (let s = 0; s < segments; s++) {
    const swapping = s % 2 === 1;
    const name = swapping ? 'on' : 'off';
    load.setPhase(name);
    const before = handshakes.snapshot();
    const started = performance.now();
    const end = started + segmentSeconds * 1000;
    while (performance.now() < end) {
      const tickStart = performance.now();
      if (swapping) {
        const res = await upload(client, token, bundles[next++ % bundles.length]!.pem);
        if (res.status === 201) tally.on.swaps++;
        else tally.on.failedSwaps++;
      }
      await sleep(Math.max(0, Math.min(end, tickStart + 200) - performance.now()));
    }
    const after = handshakes.snapshot();
    const t = tally[name];
    t.seconds += (performance.now() - started) / 1000;
    t.handshakesOk += after.ok - before.ok;
    t.handshakesFailed += after.failed - before.failed;
  }
  load.setPhase('cooldown');
  const hs = await handshakes.stop();
  await load.done;
  const off = load.counts.get('off') ?? { ok: 0, failed: 0 };
  const on = load.counts.get('on') ?? { ok: 0, failed: 0 };
  const offRate = off.ok / tally.off.seconds;
  const onRate = on.ok / tally.on.seconds;
  return {
    segmentSeconds,
    segments,
    withoutSwaps: {
      requestsPerSecond: round(offRate, 0),
      ok: off.ok,
      failedRequests: off.failed,
      handshakesPerSecond: round(tally.off.handshakesOk / tally.off.seconds, 0),
      failedHandshakes: tally.off.handshakesFailed,
    },
    withSwaps: {
      requestsPerSecond: round(onRate, 0),
      ok: on.ok,
      failedRequests: on.failed,
      handshakesPerSecond: round(tally.on.handshakesOk / tally.on.seconds, 0),
      failedHandshakes: tally.on.handshakesFailed,
      swaps: tally.on.swaps,
      failedSwaps: tally.on.failedSwaps,
      unexpectedLeaf: hs.unexpectedLeaf,
    },
    ratio: round(onRate / offRate, 3),
    failures: hs.failures,
  };
}
