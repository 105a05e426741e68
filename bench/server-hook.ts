import type { Worker } from 'node:worker_threads';

/**
 * Loaded into the hotcert process by the benchmark only (`node --expose-gc --import server-hook.js`):
 * answers memory readings over the IPC channel, optionally after a forced full GC. Never part of the product.
 * With `workers`, every live worker thread (validation pool, database writer) is made to collect too: a heap
 * snapshot starts with a full GC of that isolate; the snapshot's size is reported as a measure of its heap.
 */
const workers = new Set<Worker>();
process.on('worker', (worker: Worker) => {
  workers.add(worker);
  worker.once('exit', () => workers.delete(worker));
});

async function snapshotBytes(worker: Worker): Promise<number> {
  try {
    const stream = await worker.getHeapSnapshot();
    let bytes = 0;
    for await (const chunk of stream) bytes += (chunk as Buffer).length;
    return bytes;
  } catch {
    return 0;
  }
}

process.on('message', async (message: { type?: string; id?: number; gc?: boolean; workers?: boolean }) => {
  if (message?.type !== 'memory') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  let workerSnapshots: number[] | undefined;
  if (message.workers) workerSnapshots = await Promise.all([...workers].map(snapshotBytes));
  if (message.gc && gc) {
    gc();
    gc();
  }
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  process.send?.({ id: message.id, memory: { rss, heapUsed, heapTotal, external, arrayBuffers, ...(workerSnapshots ? { workerSnapshots } : {}) } });
});
// The server's own handles keep it alive; the channel must not keep it from exiting.
process.channel?.unref();
