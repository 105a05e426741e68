import { parentPort, workerData } from 'node:worker_threads';
import { createActivationWriter, type ActivationWrite, type ActivationWritten } from '../db/certificates-repo.js';
import { openDatabase } from '../db/open-database.js';

export type WriteRequest = { id: number; op: 'activate'; write: ActivationWrite } | { id: number; op: 'close' };

export type WriteReply = { id: number; ok: true; written?: ActivationWritten } | { id: number; ok: false; errorName: string; code?: string };

// Its own connection: waiting for the write lock and the commit's fsync happen here, off the event loop.
const db = openDatabase((workerData as { file: string }).file);
const activate = createActivationWriter(db);

/** Buffers arrive as Uint8Arrays after structured cloning; drizzle stores a blob from a Buffer. */
function revive(write: ActivationWrite): ActivationWrite {
  const target = 'insert' in write.target ? { insert: { ...write.target.insert, keySealed: Buffer.from(write.target.insert.keySealed) } } : write.target;
  return { ...write, target, ticketKeysSealed: write.ticketKeysSealed && Buffer.from(write.ticketKeysSealed) };
}

parentPort!.on('message', (request: WriteRequest) => {
  let reply: WriteReply;
  try {
    if (request.op === 'close') {
      db.$client.close();
      reply = { id: request.id, ok: true };
    } else {
      reply = { id: request.id, ok: true, written: activate(revive(request.write)) };
    }
  } catch (error) {
    // Only the class and SQLite's code cross back: messages could in principle quote data.
    const code = (error as { code?: unknown }).code;
    reply = { id: request.id, ok: false, errorName: (error as Error).name, ...(typeof code === 'string' ? { code } : {}) };
  }
  parentPort!.postMessage(reply);
  if (request.op === 'close') process.exit(0);
});
