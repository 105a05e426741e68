import os from 'node:os';
import { Piscina } from 'piscina';
import { builtWorkerFile } from './built-file.js';
import type { ValidateOutcome, ValidateTask } from '../validation/validate-task.js';

export interface ValidationPoolOptions {
  /** The compiled worker file; defaults to dist/src/threads/validate-thread.js (tests run from src/). */
  filename?: string | undefined;
  maxThreads?: number | undefined;
  maxQueue?: number | undefined;
  taskTimeoutMs?: number | undefined;
  /**
   * The largest upload a task can carry (MAX_UPLOAD_BYTES). When given, the worker's old generation is capped
   * at what such a task needs, so V8 collects it early instead of letting it grow towards its default limit.
   */
  maxUploadBytes?: number | undefined;
}

/**
 * Old-generation cap for a validation worker: its live heap is ~8 MB (code and modules, measured with heap
 * snapshots, flat over 1,800 swaps); a task holds the PEM text a few times over (string, DER, parsed objects).
 * Without a cap V8 lets the heap grow for a long time before a full GC: measured, RSS rose ~19 KB per swap
 * over 1,800 swaps without a cap and ~8 KB with 16 MB. Exported for the test.
 */
export function workerOldGenerationMb(maxUploadBytes: number): number {
  return 16 + Math.ceil((8 * maxUploadBytes) / 1_048_576);
}

export class PoolSaturatedError extends Error {
  override name = 'PoolSaturatedError';
}

export class ValidationTimeoutError extends Error {
  override name = 'ValidationTimeoutError';
}

export const defaultWorkerFile = () => builtWorkerFile('threads/validate-thread.js');

export function createValidationPool(options: ValidationPoolOptions = {}) {
  const taskTimeoutMs = options.taskTimeoutMs ?? 5000;
  const pool = new Piscina<ValidateTask, ValidateOutcome>({
    filename: options.filename ?? defaultWorkerFile(),
    minThreads: 1,
    // One core stays with the event loop: validations must never starve the requests being served.
    maxThreads: options.maxThreads ?? Math.max(1, os.availableParallelism() - 1),
    maxQueue: options.maxQueue ?? 64,
    idleTimeout: 60_000,
    // A validation allocates a few hundred KB at most: a 1 MB semi-space (V8 sizes the young generation at
    // three of them) instead of the default up to 16 MB keeps an idle worker's heap small. Measured: RSS
    // after start and per-swap growth (README, Performance). The old generation: see workerOldGenerationMb.
    resourceLimits: { maxYoungGenerationSizeMb: 3, ...(options.maxUploadBytes === undefined ? {} : { maxOldGenerationSizeMb: workerOldGenerationMb(options.maxUploadBytes) }) },
  });

  return {
    /** `timeoutMs` overrides the pool's limit for this task (queue wait included). */
    async validate(task: ValidateTask, { timeoutMs = taskTimeoutMs }: { timeoutMs?: number } = {}): Promise<ValidateOutcome> {
      if (pool.queueSize >= pool.options.maxQueue) throw new PoolSaturatedError('validation queue is full');
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        return await pool.run(task, { signal });
      } catch (error) {
        if (signal.aborted) throw new ValidationTimeoutError(`validation took longer than ${timeoutMs / 1000} s`);
        if (error instanceof Error && /queue is at limit/i.test(error.message)) throw new PoolSaturatedError('validation queue is full');
        throw error;
      }
    },
    queueSize: () => pool.queueSize,
    threads: () => pool.threads.length,
    close: () => pool.close({ force: true }),
  };
}

export type ValidationPool = ReturnType<typeof createValidationPool>;
