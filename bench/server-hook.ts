/**
 * Loaded into the hotcert process by the benchmark only (`node --expose-gc --import server-hook.js`):
 * answers memory readings over the IPC channel, optionally after a forced full GC. Never part of the product.
 */
process.on('message', (message: { type?: string; id?: number; gc?: boolean }) => {
  if (message?.type !== 'memory') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (message.gc && gc) {
    gc();
    gc();
  }
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  process.send?.({ id: message.id, memory: { rss, heapUsed, heapTotal, external, arrayBuffers } });
});
// The server's own handles keep it alive; the channel must not keep it from exiting.
process.channel?.unref();
