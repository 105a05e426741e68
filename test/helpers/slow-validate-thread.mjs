// Test-only piscina entry (plain JS: piscina threads cannot load .ts): blocks for `sleepMs` first, then
// runs the production runner from the build, so tests can hit the pool's timeout and queue limits.
import { runValidateTask } from '../../dist/src/validation/validate-task.js';

/** @param {import('../../src/validation/validate-task.js').ValidateTask & { sleepMs?: number }} task */
export default function validate({ sleepMs = 0, ...task }) {
  if (sleepMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, sleepMs);
  return runValidateTask(task);
}
