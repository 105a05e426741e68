import { createHook } from 'node:async_hooks';

/**
 * Counts the TCP listeners this thread opens and has not closed, unref'd ones included
 * (process.getActiveResourcesInfo() does not list those). Call `stop()` when done.
 */
export function trackListeners() {
  const open = new Set<number>();
  const hook = createHook({
    init(id, type) {
      if (type === 'TCPSERVERWRAP') open.add(id);
    },
    destroy(id) {
      open.delete(id);
    },
  }).enable();
  return {
    /** The count once it reaches `expected` (a closed handle is destroyed a few ticks later); the last count after a bounded wait otherwise. */
    async settle(expected: number): Promise<number> {
      for (let i = 0; i < 200 && open.size !== expected; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      return open.size;
    },
    stop: () => void hook.disable(),
  };
}
