import type { BenchBundle } from './pki.js';
import { handshake, parseServerTiming, upload, type Client } from './client.js';
import { distribution, type Distribution } from './stats.js';

export interface UploadToServedResult {
  kind: string;
  uploads: number;
  /** Request sent → the first new TLS handshake presenting the new leaf completes, ms (a client probing all along). */
  served: Distribution;
  /** Request sent → 201 received, ms. */
  response: Distribution;
  /** From the Server-Timing header, ms. */
  server: Record<string, Distribution>;
  /** Probe handshakes begun after the 201 that still saw the old leaf (must be 0). */
  staleAfter201: number;
  failedUploads: number;
  /** Probe handshakes made, all uploads together. */
  probes: number;
}

/**
 * Alternates two bundles so that every upload is a real swap. While each upload is in flight a client
 * opens new TLS connections one after another (full handshakes, no resumption) until one presents the
 * new leaf: the time from sending the upload to that handshake is what a client of the server sees.
 */
export async function measureUploadToServed(client: Client, port: number, token: string, bundles: [BenchBundle, BenchBundle], count: number, maxMs: number): Promise<UploadToServedResult> {
  const served: number[] = [];
  const response: number[] = [];
  const timings: Record<string, number[]> = {};
  let staleAfter201 = 0;
  let failedUploads = 0;
  let probes = 0;
  const deadline = performance.now() + maxMs;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const bundle = bundles[i % 2]!;
    const sent = performance.now();
    let answeredAt: number | undefined;
    let seenAt: number | undefined;
    let giveUp = false;
    const probing = (async () => {
      // Bounded: stops at the new leaf, or 5 s after the 201 (or a failed upload).
      while (seenAt === undefined && !giveUp && performance.now() - sent < 10_000) {
        const begun = performance.now();
        const seen = await handshake(port);
        probes++;
        if (!seen.ok) continue;
        if (seen.fingerprint256 === bundle.fingerprint256) seenAt = seen.at;
        else if (answeredAt !== undefined && begun > answeredAt) staleAfter201++;
        if (answeredAt !== undefined && performance.now() - answeredAt > 5_000) giveUp = true;
      }
    })();
    const res = await upload(client, token, bundle.pem);
    answeredAt = performance.now();
    if (res.status !== 201) giveUp = true;
    await probing;
    if (res.status !== 201 || seenAt === undefined) {
      failedUploads++;
      continue;
    }
    served.push(seenAt - sent);
    response.push(answeredAt - sent);
    for (const [name, ms] of Object.entries(parseServerTiming(res.headers['server-timing']))) (timings[name] ??= []).push(ms);
  }
  const server: Record<string, Distribution> = {};
  for (const [name, samples] of Object.entries(timings)) server[name] = distribution(samples);
  return { kind: bundles[0].kind, uploads: served.length, served: distribution(served), response: distribution(response), server, staleAfter201, failedUploads, probes };
}
