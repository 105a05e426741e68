import type { BenchBundle } from './pki.js';
import { handshake, parseServerTiming, upload, type Client } from './client.js';
import { distribution, type Distribution } from './stats.js';

export interface UploadToServedResult {
  kind: string;
  uploads: number;
  /** Request sent → a new TLS handshake (opened when the 201 arrives) completes presenting the new leaf, ms. */
  served: Distribution;
  /** Request sent → 201 received, ms. */
  response: Distribution;
  /** From the Server-Timing header, ms. */
  server: Record<string, Distribution>;
  /** Handshakes opened after a 201 that still saw the old leaf (must be 0). */
  staleAfter201: number;
  failedUploads: number;
}

/** Alternates two bundles so that every upload is a real swap. */
export async function measureUploadToServed(client: Client, port: number, token: string, bundles: [BenchBundle, BenchBundle], count: number, maxMs: number): Promise<UploadToServedResult> {
  const served: number[] = [];
  const response: number[] = [];
  const timings: Record<string, number[]> = {};
  let staleAfter201 = 0;
  let failedUploads = 0;
  const deadline = performance.now() + maxMs;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const bundle = bundles[i % 2]!;
    const sent = performance.now();
    const res = await upload(client, token, bundle.pem);
    const answered = performance.now();
    if (res.status !== 201) {
      failedUploads++;
      continue;
    }
    let seen = await handshake(port);
    // A stale leaf after the 201 is a correctness failure; retry a few times so the time still gets measured.
    for (let retry = 0; retry < 20 && seen.ok && seen.fingerprint256 !== bundle.fingerprint256; retry++) {
      staleAfter201++;
      seen = await handshake(port);
    }
    if (!seen.ok || seen.fingerprint256 !== bundle.fingerprint256) {
      failedUploads++;
      continue;
    }
    served.push(seen.at - sent);
    response.push(answered - sent);
    for (const [name, ms] of Object.entries(parseServerTiming(res.headers['server-timing']))) (timings[name] ??= []).push(ms);
  }
  const server: Record<string, Distribution> = {};
  for (const [name, samples] of Object.entries(timings)) server[name] = distribution(samples);
  return { kind: bundles[0].kind, uploads: served.length, served: distribution(served), response: distribution(response), server, staleAfter201, failedUploads };
}
