import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidateTask } from '../../src/validation/validate-task.js';

/** A pool built with `filename: slowValidateThread` takes tasks with `sleepMs`: the thread blocks that long first. */
export const slowValidateThread = path.join(path.dirname(fileURLToPath(import.meta.url)), 'slow-validate-thread.mjs');
export type SlowTask = ValidateTask & { sleepMs?: number };
