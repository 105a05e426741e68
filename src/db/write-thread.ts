import { Worker } from 'node:worker_threads';
import { builtWorkerFile } from '../workers/built-file.js';
import type { AuditEntry } from './audit-repo.js';
import { PreconditionFailedError, type ActivationOptions, type CertificateRow, type NewVersion } from './certificates-repo.js';
import type { WriteReply, WriteRequest } from './write-worker.js';

/** Writes and marks a version active, calls `swap` while the transaction is still open, then commits. */
export interface ActivationCommit {
  (
    version: NewVersion,
    audit: AuditEntry,
    options: ActivationOptions & { now: number },
    swap: () => void,
  ): Promise<{ row: CertificateRow; generation: number }>;
}

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
 * never stall the event loop. The swap still happens inside the open transaction, as before.
 */
export function startWriteThread(file: string, workerFile = builtWorkerFile('db/write-worker.js')) {
  // A small heap: the thread only relays rows, and a lazily collected heap would hold tens of MB.
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

  const commit: ActivationCommit = async (version, audit, options, swap) => {
    const begun = await send({
      op: 'begin',
      now: options.now,
      version,
      audit,
      expectedFingerprint: options.expectedFingerprint,
      fallbackReason: options.fallbackReason ?? null,
      ticketKeysSealed: options.ticketKeysSealed,
    });
    const raw = begun.row as unknown as CertificateRow;
    const row = { ...raw, keySealed: Buffer.from(raw.keySealed) };
    try {
      swap();
    } catch (error) {
      await send({ op: 'rollback' });
      throw error;
    }
    await send({ op: 'commit' });
    return { row, generation: begun.generation! };
  };

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
