import { freePort, spawnProcess } from '../test/helpers/server-process.js';
import { handshake } from './client.js';
import { median, round, sleep } from './stats.js';

export interface ColdStartResult {
  /** spawn → first successful TLS handshake, ms, restarts on an initialised data directory. */
  restartsMs: number[];
  medianMs: number;
  /** The same for the very first start (migrations, self-signed key generation), for information. */
  firstBootMs: number;
}

/** Polls with new handshakes every 2 ms until one succeeds (bounded). */
async function firstHandshake(port: number, spawnedAt: number, maxMs: number): Promise<number> {
  while (performance.now() - spawnedAt < maxMs) {
    const result = await handshake(port, 1_000);
    if (result.ok) return result.at - spawnedAt;
    await sleep(2);
  }
  throw new Error(`no handshake within ${maxMs} ms of spawn`);
}

async function measureOnce(dataDir: string): Promise<number> {
  const port = await freePort();
  const started = spawnProcess({ dataDir, port });
  const spawnedAt = performance.now();
  const [elapsed, server] = await Promise.all([firstHandshake(port, spawnedAt, 15_000), started]);
  await server.stop();
  return elapsed;
}

export async function measureColdStart(dataDir: string, runs = 5): Promise<ColdStartResult> {
  const firstBootMs = await measureOnce(dataDir);
  const restartsMs: number[] = [];
  for (let i = 0; i < runs; i++) restartsMs.push(round(await measureOnce(dataDir), 1));
  return { restartsMs, medianMs: round(median(restartsMs), 1), firstBootMs: round(firstBootMs, 1) };
}
