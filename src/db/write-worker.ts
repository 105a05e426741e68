import { parentPort, workerData } from 'node:worker_threads';
import type { AuditEntry } from './audit-repo.js';
import { createCertificatesRepo, type NewVersion } from './certificates-repo.js';
import { openDatabase } from './open-database.js';

export type WriteRequest =
  | {
      id: number;
      op: 'begin';
      now: number;
      version: Omit<NewVersion, 'keySealed'> & { keySealed: Uint8Array };
      audit: AuditEntry;
      expectedFingerprint?: string | undefined;
      fallbackReason: string | null;
      ticketKeysSealed?: Uint8Array | undefined;
    }
  | { id: number; op: 'commit' | 'rollback' }
  | { id: number; op: 'close' };

export type WriteReply =
  | { id: number; ok: true; row?: Record<string, unknown>; generation?: number }
  | { id: number; ok: false; errorName: string; code?: string };

// Its own connection: waiting for the write lock and the commit's fsync happen here, off the event loop.
const db = openDatabase((workerData as { file: string }).file);
let now = Date.now();
const repo = createCertificatesRepo(db, () => now);

function run(request: WriteRequest): WriteReply {
  switch (request.op) {
    case 'begin': {
      now = request.now;
      const { row, generation } = repo.beginActivation({ ...request.version, keySealed: Buffer.from(request.version.keySealed) }, request.audit, {
        expectedFingerprint: request.expectedFingerprint,
        fallbackReason: request.fallbackReason,
        ticketKeysSealed: request.ticketKeysSealed && Buffer.from(request.ticketKeysSealed),
      });
      return { id: request.id, ok: true, row, generation };
    }
    case 'commit':
      repo.commitOpen();
      return { id: request.id, ok: true };
    case 'rollback':
      repo.rollbackOpen();
      return { id: request.id, ok: true };
    case 'close':
      repo.rollbackOpen();
      db.$client.close();
      return { id: request.id, ok: true };
  }
}

parentPort!.on('message', (request: WriteRequest) => {
  let reply: WriteReply;
  try {
    reply = run(request);
  } catch (error) {
    if (request.op === 'commit') repo.rollbackOpen();
    // Only the class and SQLite's code cross back: messages could in principle quote data.
    const code = (error as { code?: unknown }).code;
    reply = { id: request.id, ok: false, errorName: (error as Error).name, ...(typeof code === 'string' ? { code } : {}) };
  }
  parentPort!.postMessage(reply);
  if (request.op === 'close') process.exit(0);
});
