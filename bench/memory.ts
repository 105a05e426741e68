import { createClient, upload } from './client.js';
import type { RunningProcess, MemorySample } from '../test/helpers/server-process.js';
import type { BenchBundle } from './pki.js';
import { round } from './stats.js';

export interface MemoryResult {
  target: number;
  swaps: number;
  failedUploads: number;
  seconds: number;
  /** True when the time budget ran out before `target` swaps. */
  cutShort: boolean;
  at100: { natural: MemorySample; afterGc: MemorySample };
  atEnd: { natural: MemorySample; afterGc: MemorySample };
  /** (RSS at end − RSS at 100) / (swaps − 100), as read without and with a forced GC of the main isolate. */
  bytesPerSwap: number;
  bytesPerSwapAfterGc: number;
  /** The same from 2,500 swaps on: growth once the allocators have reached their working size (a leak would still show). */
  steadyBytesPerSwap: number | undefined;
  /** RSS readings along the way (no forced GC; the first and last are after one), for the plateau-or-leak question. */
  curve: { swaps: number; rssMb: number }[];
}

/**
 * Real swaps through the upload endpoint (validation, canary, commit, setSecureContext), 4 in flight from each of
 * `addresses` loopback client addresses; distinct bundles round-robin so nearly every upload is a swap.
 */
export async function measureMemory(server: RunningProcess, token: string, bundles: BenchBundle[], options: { target: number; maxMs: number; addresses?: number }): Promise<MemoryResult> {
  const addresses = options.addresses ?? 2;
  const clients = Array.from({ length: addresses }, (_, i) => createClient(server.port, 4, `127.0.1.${i + 1}`));
  let sent = 0;
  let swaps = 0;
  let failedUploads = 0;
  const started = performance.now();
  const deadline = started + options.maxMs;
  const curve: { swaps: number; rssMb: number }[] = [];

  async function runUntil(count: number): Promise<void> {
    await Promise.all(
      clients.flatMap((c) =>
        Array.from({ length: 4 }, async () => {
          while (sent < count && performance.now() < deadline) {
            const bundle = bundles[sent++ % bundles.length]!;
            const res = await upload(c, token, bundle.pem);
            if (res.status === 201) swaps++;
            else failedUploads++;
          }
        }),
      ),
    );
  }

  const read = async () => ({ natural: await server.memory(), afterGc: await server.memory({ gc: true }) });
  await runUntil(100);
  const at100 = await read();
  const swapsAt100 = swaps;
  curve.push({ swaps, rssMb: round(at100.afterGc.rss / 1e6, 1) });
  let steadyFrom: { swaps: number; rss: number } | undefined;
  for (const step of [1_000, 2_500, 5_000, 7_500, options.target]) {
    if (step > options.target) continue;
    await runUntil(step);
    if (step < options.target) {
      const rss = (await server.memory()).rss;
      curve.push({ swaps, rssMb: round(rss / 1e6, 1) });
      if (step === 2_500) steadyFrom = { swaps, rss };
    }
    if (performance.now() >= deadline) break;
  }
  const atEnd = await read();
  curve.push({ swaps, rssMb: round(atEnd.afterGc.rss / 1e6, 1) });
  for (const c of clients) c.close();
  const span = Math.max(1, swaps - swapsAt100);
  return {
    target: options.target,
    swaps,
    failedUploads,
    seconds: round((performance.now() - started) / 1000, 1),
    // Uploads that answered 201 without a swap (the bundle was already active) do not make the run short.
    cutShort: sent < options.target,
    at100,
    atEnd,
    bytesPerSwap: Math.round((atEnd.natural.rss - at100.natural.rss) / span),
    bytesPerSwapAfterGc: Math.round((atEnd.afterGc.rss - at100.afterGc.rss) / span),
    steadyBytesPerSwap: steadyFrom && swaps > steadyFrom.swaps ? Math.round((atEnd.natural.rss - steadyFrom.rss) / (swaps - steadyFrom.swaps)) : undefined,
    curve,
  };
}
