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

/** Reads (and so resets) the server's event-loop delay window: hotcert_event_loop_delay_{p99,max}_seconds. */
async function readLoopDelay(client: Client, token: string): Promise<{ p99Ms: number; maxMs: number }> {
  const res = await client.request('GET', '/v1/metrics?format=prometheus', { Authorization: `Bearer ${token}` });
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(res.body)?.[1] ?? Number.NaN) * 1000;
  return { p99Ms: round(value('hotcert_event_loop_delay_p99_seconds')), maxMs: round(value('hotcert_event_loop_delay_max_seconds')) };
}

/**
 * Idle window vs a window in which `uploads` uploads validate, `inFlight` at a time. The server allows 4 uploads in
 * flight per client address, so the uploads come from several loopback source addresses (127.0.0.2, …): still
 * only 127.0.0.1 is contacted.
 */
export async function measureEventLoop(port: number, token: string, client: Client, bundles: BenchBundle[], uploads = 100, inFlight = 64): Promise<EventLoopResult> {
  await readLoopDelay(client, token);
  await sleep(1_000);
  const idle = await readLoopDelay(client, token);

  const perAddress = 4;
  const addresses = Math.ceil(inFlight / perAddress);
  const clients = Array.from({ length: addresses }, (_, i) => createClient(port, perAddress, `127.0.0.${i + 2}`));
  const statuses: Record<string, number> = {};
  let next = 0;
  // Open every keep-alive connection first: a burst of 64 TLS handshakes is not what this section measures.
  await Promise.all(clients.flatMap((c) => Array.from({ length: perAddress }, () => c.request('GET', '/healthz'))));
  await sleep(100);
  await readLoopDelay(client, token);
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
  const busy = await readLoopDelay(client, token);
  for (const c of clients) c.close();
  return { idleP99Ms: idle.p99Ms, idleMaxMs: idle.maxMs, busyP99Ms: busy.p99Ms, busyMaxMs: busy.maxMs, uploads, inFlight, clientAddresses: addresses, statuses, seconds: round(seconds, 2) };
}
