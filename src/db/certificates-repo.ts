import { desc, eq, sql } from 'drizzle-orm';
import { insertAudit, type AuditEntry } from './audit-repo.js';
import type { Db } from './open-database.js';
import type { CertificateStore } from './ports.js';
import { certificateVersions, serviceState, settings } from './schema.js';
import { TICKET_KEYS_SETTING } from './settings-repo.js';

export type CertificateSource = 'default' | 'upload' | 'rollback' | 'import' | 'acme';
export type CertificateRow = typeof certificateVersions.$inferSelect;
export type StateRow = typeof serviceState.$inferSelect;

export interface NewVersion {
  source: CertificateSource;
  certPem: string;
  chainPem: string;
  keySealed: Buffer;
  fingerprint: string;
  summaryJson: string;
  warningsJson: string;
  createdBy: string;
}

/**
 * One activation as the database sees it: a new version inserted, or a stored one marked active,
 * with If-Match, the generation bump, the audit row and the ticket keys in one IMMEDIATE transaction.
 */
export interface ActivationWrite {
  target: { insert: NewVersion } | { existing: number };
  audit: AuditEntry;
  expectedFingerprint?: string | undefined;
  fallbackReason: string | null;
  /** New sealed TLS ticket keys, committed with the activation so every process switches together. */
  ticketKeysSealed?: Buffer | undefined;
  now: number;
}

/** Only what the caller does not know already: the version number, the generation, the stored time. */
export interface ActivationWritten {
  version: number;
  generation: number;
  createdAt: number;
}

/** Thrown inside the activation transaction when If-Match names a fingerprint that is no longer active. */
export class PreconditionFailedError extends Error {
  override name = 'PreconditionFailedError';
}

/** The one activation transaction, on this connection: the writer thread's, or the CLI's own. */
export function createActivationWriter(db: Db): (write: ActivationWrite) => ActivationWritten {
  const selectState = db.select().from(serviceState).where(eq(serviceState.id, 1)).prepare();

  function writeTicketKeys(tx: Pick<Db, 'insert'>, sealed: Buffer, now: number): void {
    tx.insert(settings)
      .values({ name: TICKET_KEYS_SETTING, value: sealed, updatedAt: now })
      .onConflictDoUpdate({ target: settings.name, set: { value: sealed, updatedAt: now } })
      .run();
  }

  function writeActivation(tx: Pick<Db, 'select' | 'insert' | 'update'>, write: ActivationWrite): ActivationWritten {
    const current = selectState.get()!;
    if (write.expectedFingerprint !== undefined) {
      const active =
        current.activeVersion === null
          ? undefined
          : tx.select({ fingerprint: certificateVersions.fingerprint }).from(certificateVersions)
              .where(eq(certificateVersions.version, current.activeVersion)).get();
      if (active?.fingerprint !== write.expectedFingerprint) throw new PreconditionFailedError();
    }
    let version: number;
    let createdAt = write.now;
    const details: Record<string, unknown> = { ...write.audit.details };
    if ('insert' in write.target) {
      version = (tx.select({ max: sql<number | null>`max(${certificateVersions.version})` }).from(certificateVersions).get()?.max ?? 0) + 1;
      tx.insert(certificateVersions).values({ ...write.target.insert, version, createdAt }).run();
      Object.assign(details, { version, source: write.target.insert.source });
    } else {
      version = write.target.existing;
      const stored = tx.select({ createdAt: certificateVersions.createdAt }).from(certificateVersions).where(eq(certificateVersions.version, version)).get();
      if (!stored) throw new Error(`version ${version} does not exist`);
      createdAt = stored.createdAt;
    }
    const generation = current.generation + 1;
    tx.update(serviceState)
      .set({ activeVersion: version, generation, fallbackReason: write.fallbackReason, updatedAt: write.now })
      .where(eq(serviceState.id, 1))
      .run();
    insertAudit(tx, write.now, { ...write.audit, details });
    if (write.ticketKeysSealed) writeTicketKeys(tx, write.ticketKeysSealed, write.now);
    return { version, generation, createdAt };
  }

  return (write) => db.transaction((tx) => writeActivation(tx, write), { behavior: 'immediate' });
}

/**
 * The SQLite CertificateStore. `commit` sends the activation write elsewhere (the server's writer
 * thread, db/write-thread.ts); without it the same transaction runs on this connection.
 */
export function createCertificatesRepo(db: Db, clock: () => number, options: { commit?: ((write: ActivationWrite) => Promise<ActivationWritten>) | undefined } = {}): CertificateStore {
  // A read-only connection (hotcert status) writes nothing; the row exists once any writer opened the database.
  if (!db.$client.readonly) db.insert(serviceState).values({ id: 1, generation: 0, updatedAt: clock() }).onConflictDoNothing().run();

  // state() and generation() run on every sync tick: prepared once.
  const selectState = db.select().from(serviceState).where(eq(serviceState.id, 1)).prepare();
  const selectVersion = db.select().from(certificateVersions).where(eq(certificateVersions.version, sql.placeholder('version'))).prepare();
  const selectGeneration = db.select({ generation: serviceState.generation }).from(serviceState).where(eq(serviceState.id, 1)).prepare();
  const activateHere = db.$client.readonly ? undefined : createActivationWriter(db);

  return {
    state: async () => selectState.get()!,
    generation: async () => selectGeneration.get()!.generation,
    async active() {
      const { activeVersion } = selectState.get()!;
      return activeVersion === null ? undefined : selectVersion.get({ version: activeVersion });
    },
    get: async (version) => selectVersion.get({ version }),
    history: async () => db.select().from(certificateVersions).orderBy(desc(certificateVersions.version)).all(),
    async activate(write) {
      if (options.commit) return options.commit(write);
      if (!activateHere) throw new Error('the database is open read-only');
      return activateHere(write);
    },
  };
}
