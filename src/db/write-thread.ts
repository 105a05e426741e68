import { Worker } from 'node:worker_threads';
import { builtWorkerFile } from '../workers/built-file.js';
import { PreconditionFailedError, type ActivationWrite, type ActivationWritten } from './certificates-repo.js';
import type { WriteReply, WriteRequest } from '../threads/activation-writer-thread.js';

/** Writes one activation (certificates-repo.ts `activate`) and resolves once it is committed. */
export type ActivationCommit = (write: ActivationWrite) => Promise<ActivationWritten>;

export class WriteThreadError extends Error {
  override name = 'WriteThreadError';
  /** SQLite's or the system's error code, kept so that e.g. SQLITE_FULL is still recognised here. */
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

/** Another connection held the write lock for longer than the busy timeout. */
export class DatabaseBusyError extends Error {
  override name = 'DatabaseBusyError';
}

type Request = WriteRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * Certificate activations are written by a thread with its own SQLite connection: waiting for the
 * write lock and the fsync of synchronous=FULL (usually ~1 ms, sometimes 10+ ms on slow storage)
 * never stall the event loop. One message per activation: the transaction opens and commits there,
 * and only the version number and generation come back.
 */
export function startWriteThread(file: string, workerFile = builtWorkerFile('threads/activation-writer-thread.js')) {
  // A small heap: the thread only writes rows, and a lazily collected heap would hold tens of MB.
  const worker = new Worker(workerFile, { workerData: { file }, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 } });
  worker.unref();
  const pending = new Map<number, { resolve: (reply: WriteReply) => void; reject: (error: Error) => void }>();
  let sequence = 0;
  let stopped: Error | undefined;

  worker.on('message', (reply: WriteReply) => {
    pending.get(reply.id)?.resolve(reply);
    pending.delete(reply.id);
  });
  const failAll = (error: Error) => {
    stopped = error;
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  worker.on('error', () => failAll(new WriteThreadError('the database writer thread failed')));
  worker.on('exit', () => failAll(new WriteThreadError('the database writer thread has stopped')));

  async function send(request: Request): Promise<WriteReply & { ok: true }> {
    if (stopped) throw stopped;
    const id = ++sequence;
    const reply = await new Promise<WriteReply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id } as WriteRequest);
    });
    if (reply.ok) return reply;
    if (reply.errorName === 'PreconditionFailedError') throw new PreconditionFailedError();
    if (reply.code === 'SQLITE_BUSY' || reply.code === 'SQLITE_LOCKED') throw new DatabaseBusyError('the database is busy');
    throw new WriteThreadError(`the database write failed (${reply.code ?? reply.errorName})`, reply.code);
  }

  const commit: ActivationCommit = async (write) => (await send({ op: 'activate', write })).written!;

  return {
    commit,
    async close(): Promise<void> {
      if (stopped) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      await send({ op: 'close' }).catch(() => undefined);
      await exited;
    },
  };
}

export type WriteThread = ReturnType<typeof startWriteThread>;
