import { readFileSync, readdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminToken, createClient, upload } from './client.js';
import { createBenchPki } from './pki.js';
import { sleep } from './stats.js';
import { spawnProcess } from '../test/helpers/server-process.js';

/**
 * `node dist/bench/memory-probe.js [checkpoints...]`: where the memory of a hotcert process goes, for the
 * per-swap question (issue 12). Real uploads (distinct EC bundles round-robin, so each is a swap); at each
 * checkpoint a forced GC of the main isolate, then process.memoryUsage() beside /proc smaps_rollup
 * (anonymous vs file-backed) and the thread count. JS heap growth shows in heapUsed, native in rss − heap.
 */
const checkpoints = process.argv.slice(2).map(Number);
if (checkpoints.length === 0) checkpoints.push(0, 500, 1_000, 2_000);

function smaps(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}

const mb = (n: number) => (n / 1e6).toFixed(1);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hotcert-probe-'));
const bundles = await (await createBenchPki('ec')).leaves(12);
const server = await spawnProcess({ dataDir: tmp, hook: true, env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', ...(process.env.PROBE_OLD_MB ? { PROBE_OLD_MB: process.env.PROBE_OLD_MB } : {}) } });
const pid = server.child.pid!;
const client = createClient(server.port, 8);
// Uploads are limited to 4 in flight per client address: two loopback addresses, 4 each.
const uploaders = [createClient(server.port, 4, '127.0.1.1'), createClient(server.port, 4, '127.0.1.2')];
const token = await adminToken(client);
await sleep(1_000);
let sent = 0;
let swaps = 0;
let failed = 0;
const statuses = new Map<string, number>();
const started = performance.now();
process.stdout.write('swaps\trssMB\theapUsed\theapTotal\texternal\tarrayBuf\tanonMB\tfileMB\tthreads\ts\tdbMB\tworkerSnapshotsMB\n');
for (const target of checkpoints) {
  await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const c = uploaders[i % 2]!;
      while (sent < target) {
        const first = sent < 2;
        const bundle = bundles[sent++ % bundles.length]!;
        const t0 = performance.now();
        const res = await upload(c, token, bundle.pem);
        // The first two uploads: the first may start the validation worker (minThreads 0), the second finds it running.
        if (first) process.stdout.write(`upload ${sent}: ${(performance.now() - t0).toFixed(1)} ms, Server-Timing ${String(res.headers['server-timing'] ?? '')}\n`);
        if (res.status === 201) swaps++;
        else {
          failed++;
          const key = `${res.status} ${res.body.slice(0, 120)}`;
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
        }
      }
    }),
  );
  await sleep(200);
  const m = await server.memory({ gc: true, workers: process.env.PROBE_WORKERS === '1' });
  const s = smaps(pid);
  const threads = readdirSync(`/proc/${pid}/task`).length;
  const dbBytes = readdirSync(tmp).filter((f) => f.endsWith('.db') || f.endsWith('.sqlite')).reduce((sum, f) => sum + statSync(path.join(tmp, f)).size, 0);
  process.stdout.write(
    `${swaps}\t${mb(m.rss)}\t${mb(m.heapUsed)}\t${mb(m.heapTotal)}\t${mb(m.external)}\t${mb(m.arrayBuffers)}\t${mb(s.Anonymous ?? 0)}\t${mb((s.Rss ?? 0) - (s.Anonymous ?? 0))}\t${threads}\t${((performance.now() - started) / 1000).toFixed(0)}\t${mb(dbBytes)}\t${(m.workerSnapshots ?? []).map(mb).join(',')}\n`,
  );
}
if (process.env.PROBE_IDLE_MS) {
  // Idle, then read again: what a quiet server gives back (worker threads past their idle timeout).
  await sleep(Number(process.env.PROBE_IDLE_MS));
  const m = await server.memory({ gc: true });
  process.stdout.write(`idle ${Number(process.env.PROBE_IDLE_MS) / 1000} s: rss ${mb(m.rss)} MB, threads ${readdirSync(`/proc/${pid}/task`).length}\n`);
}
if (failed) process.stdout.write(`failed uploads: ${failed} ${JSON.stringify([...statuses].slice(0, 5))}\n`);
if (process.env.PROBE_KEEP) {
  process.stdout.write(`pid ${pid} kept for inspection; Ctrl-C to end\n`);
  await sleep(Number(process.env.PROBE_KEEP));
}
client.close();
for (const c of uploaders) c.close();
await server.stop();
rmSync(tmp, { recursive: true, force: true });
