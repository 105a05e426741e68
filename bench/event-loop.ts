import { createClient, upload, type Client } from './client.js';
import type { BenchBundle } from './pki.js';
import { round, sleep } from './stats.js';

export interface EventLoopResult {
  idleP99Ms: number;
  idleMaxMs: number;
  busyP99Ms: number;
  busyMaxMs: number;
  uploads: number;
  inFlight: number;
  clientAddresses: number;
  statuses: Record<string, number>;
  seconds: number;
}

type LoopDelayCounts = Map<number, number>;

/** The server's cumulative event-loop delay histogram: bucket upper bound (s) -> samples at or below it. */
async function readLoopDelay(client: Client, token: string): Promise<LoopDelayCounts> {
  const res = await client.request('GET', '/v1/metrics?format=prometheus', { Authorization: `Bearer ${token}` });
  const counts: LoopDelayCounts = new Map();
  for (const match of res.body.matchAll(/^hotcert_event_loop_delay_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) {
    counts.set(match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]), Number(match[2]));
  }
  return counts;
}

/** p99 and max of the samples taken between two reads, as bucket upper bounds (so "p99 <= 10 ms" is exact). */
function loopDelayWindow(before: LoopDelayCounts, after: LoopDelayCounts): { p99Ms: number; maxMs: number } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const inWindow = (bound: number) => (after.get(bound) ?? 0) - (before.get(bound) ?? 0);
  const total = inWindow(Number.POSITIVE_INFINITY);
  const ms = (bound: number) => (bound === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : round(bound * 1000));
  const p99 = bounds.find((bound) => inWindow(bound) >= 0.99 * total) ?? Number.NaN;
  const max = bounds.find((bound) => inWindow(bound) >= total) ?? Number.NaN;
  return { p99Ms: ms(p99), maxMs: ms(max) };
}

/**
 * Idle window vs a window in which `uploads` uploads validate, `inFlight` at a time. The server allows 4 uploads in
 * flight per client address, so the uploads come from several loopback source addresses (127.0.0.2, …): still
 * only 127.0.0.1 is contacted.
 */
export async function measureEventLoop(port: number, token: string, client: Client, bundles: BenchBundle[], uploads = 100, inFlight = 64): Promise<EventLoopResult> {
  const idleStart = await readLoopDelay(client, token);
  await sleep(1_000);
  const idle = loopDelayWindow(idleStart, await readLoopDelay(client, token));

  const perAddress = 4;
  const addresses = Math.ceil(inFlight / perAddress);
  const clients = Array.from({ length: addresses }, (_, i) => createClient(port, perAddress, `127.0.0.${i + 2}`));
  const statuses: Record<string, number> = {};
  let next = 0;
  // Open every keep-alive connection first: a burst of 64 TLS handshakes is not what this section measures.
  await Promise.all(clients.flatMap((c) => Array.from({ length: perAddress }, () => c.request('GET', '/healthz'))));
  await sleep(100);
  const busyStart = await readLoopDelay(client, token);
  const started = performance.now();
  await Promise.all(
    clients.flatMap((c) =>
      Array.from({ length: perAddress }, async () => {
        while (next < uploads) {
          const bundle = bundles[next++ % bundles.length]!;
          const res = await upload(c, token, bundle.pem);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        }
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const busy = loopDelayWindow(busyStart, await readLoopDelay(client, token));
  for (const c of clients) c.close();
  return { idleP99Ms: idle.p99Ms, idleMaxMs: idle.maxMs, busyP99Ms: busy.p99Ms, busyMaxMs: busy.maxMs, uploads, inFlight, clientAddresses: addresses, statuses, seconds: round(seconds, 2) };
}
