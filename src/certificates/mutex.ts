import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Runs tasks one at a time, in arrival order. Each waits for the next turn of the event loop
 * first: queued commits would otherwise run back to back as microtasks and starve requests.
 */
export function createMutex() {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(task: () => Promise<T> | T): Promise<T> {
      const turn = async () => {
        await nextTurn();
        return task();
      };
      const result = tail.then(turn, turn);
      tail = result.catch(() => undefined);
      return result;
    },
  };
}
