import { createClient, upload } from './client.js';
import type { RunningProcess, MemorySample } from '../test/helpers/server-process.js';
import type { BenchBundle } from './pki.js';
import { round, sleep } from './stats.js';

export interface MemoryResult {
  target: number;
  swaps: number;
  failedUploads: number;
  seconds: number;
  /** True when the time budget ran out before `target` swaps. */
  cutShort: boolean;
  /** Listening, one login done, idle for a second, before any swap. */
  atStart: { natural: MemorySample; afterGc: MemorySample };
  atEnd: { natural: MemorySample; afterGc: MemorySample };
  /** (RSS at end − RSS at start) / swaps: growth from the first swap on, without and with a forced GC of the main isolate. */
  bytesPerSwap: number;
  bytesPerSwapAfterGc: number;
  /** The same over the second half of the run only: near 0 when RSS has levelled off, as large as above when it keeps climbing. */
  secondHalfBytesPerSwap: number | undefined;
  /** RSS readings along the way (no forced GC), for the plateau-or-leak question. */
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
  const curve: { swaps: number; rssMb: number }[] = [];

  const read = async () => ({ natural: await server.memory(), afterGc: await server.memory({ gc: true }) });
  await sleep(1_000);
  const atStart = await read();
  curve.push({ swaps: 0, rssMb: round(atStart.natural.rss / 1e6, 1) });

  const started = performance.now();
  const deadline = started + options.maxMs;
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

  let half: { swaps: number; rss: number } | undefined;
  const steps = [100, 1_000, 2_500, 5_000, 7_500].filter((n) => n < options.target);
  for (const step of [...steps, options.target]) {
    await runUntil(step);
    if (step < options.target) {
      const rss = (await server.memory()).rss;
      curve.push({ swaps, rssMb: round(rss / 1e6, 1) });
      if (step === options.target / 2 || (half === undefined && step >= options.target / 2)) half = { swaps, rss };
    }
    if (performance.now() >= deadline) break;
  }
  const atEnd = await read();
  curve.push({ swaps, rssMb: round(atEnd.natural.rss / 1e6, 1) });
  for (const c of clients) c.close();
  const span = Math.max(1, swaps);
  return {
    target: options.target,
    swaps,
    failedUploads,
    seconds: round((performance.now() - started) / 1000, 1),
    // Uploads that answered 201 without a swap (the bundle was already active) do not make the run short.
    cutShort: sent < options.target,
    atStart,
    atEnd,
    bytesPerSwap: Math.round((atEnd.natural.rss - atStart.natural.rss) / span),
    bytesPerSwapAfterGc: Math.round((atEnd.afterGc.rss - atStart.afterGc.rss) / span),
    secondHalfBytesPerSwap: half && swaps > half.swaps ? Math.round((atEnd.natural.rss - half.rss) / (swaps - half.swaps)) : undefined,
    curve,
  };
}
