import { sql } from 'drizzle-orm';
import type { PgDb } from './open-postgres.js';
import { CHANGES_CHANNEL, type ChangeKind } from './notify.js';

export type PgTx = Parameters<Parameters<PgDb['transaction']>[0]>[0];

/** Queued by PostgreSQL and delivered to every LISTENing instance only if this transaction commits. */
export async function notifyChange(tx: PgTx, kind: ChangeKind): Promise<void> {
  await tx.execute(sql`SELECT pg_notify(${CHANGES_CHANNEL}, ${kind})`);
}
