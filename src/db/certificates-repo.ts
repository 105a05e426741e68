import { desc, eq, sql } from 'drizzle-orm';
import { insertAudit, type AuditEntry } from './audit-repo.js';
import type { Db } from './open-database.js';
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

export interface ActivationOptions {
  expectedFingerprint?: string | undefined;
  fallbackReason?: string | null;
  /** New sealed TLS ticket keys, committed with the activation so every process switches together. */
  ticketKeysSealed?: Buffer | undefined;
}

/** Thrown inside the activation transaction when If-Match names a fingerprint that is no longer active. */
export class PreconditionFailedError extends Error {
  override name = 'PreconditionFailedError';
}

export function createCertificatesRepo(db: Db, clock: () => number) {
  // A read-only connection (hotcert status) writes nothing; the row exists once any writer opened the database.
  if (!db.$client.readonly) db.insert(serviceState).values({ id: 1, generation: 0, updatedAt: clock() }).onConflictDoNothing().run();

  // state() and active() run on every health probe and every sync tick: prepared once.
  const selectState = db.select().from(serviceState).where(eq(serviceState.id, 1)).prepare();
  const selectVersion = db.select().from(certificateVersions).where(eq(certificateVersions.version, sql.placeholder('version'))).prepare();
  const selectGeneration = db.select({ generation: serviceState.generation }).from(serviceState).where(eq(serviceState.id, 1)).prepare();
  const state = (): StateRow => selectState.get()!;

  const writeAudit = (tx: Pick<Db, 'insert'>, entry: AuditEntry) => insertAudit(tx, clock(), entry);

  function writeTicketKeys(tx: Pick<Db, 'insert'>, sealed: Buffer): void {
    tx.insert(settings)
      .values({ name: TICKET_KEYS_SETTING, value: sealed, updatedAt: clock() })
      .onConflictDoUpdate({ target: settings.name, set: { value: sealed, updatedAt: clock() } })
      .run();
  }

  /** Checks If-Match, then writes the version, marks it active, bumps the generation and audits. */
  function writeActivation(tx: Pick<Db, 'select' | 'insert' | 'update'>, version: NewVersion, audit: AuditEntry, options: ActivationOptions) {
    const current = state();
    if (options.expectedFingerprint !== undefined) {
      const active =
        current.activeVersion === null
          ? undefined
          : tx.select({ fingerprint: certificateVersions.fingerprint }).from(certificateVersions)
              .where(eq(certificateVersions.version, current.activeVersion)).get();
      if (active?.fingerprint !== options.expectedFingerprint) throw new PreconditionFailedError();
    }
    const next = (tx.select({ max: sql<number | null>`max(${certificateVersions.version})` }).from(certificateVersions).get()?.max ?? 0) + 1;
    const row = tx
      .insert(certificateVersions)
      .values({ ...version, version: next, createdAt: clock() })
      .returning()
      .get();
    tx.update(serviceState)
      .set({ activeVersion: next, generation: current.generation + 1, fallbackReason: options.fallbackReason ?? null, updatedAt: clock() })
      .where(eq(serviceState.id, 1))
      .run();
    writeAudit(tx, { ...audit, fingerprint: version.fingerprint, details: { ...audit.details, version: next, source: version.source } });
    if (options.ticketKeysSealed) writeTicketKeys(tx, options.ticketKeysSealed);
    return { row, generation: current.generation + 1 };
  }

  return {
    state,
    generation(): number {
      return selectGeneration.get()!.generation;
    },
    active(): CertificateRow | undefined {
      const { activeVersion } = state();
      if (activeVersion === null) return undefined;
      return selectVersion.get({ version: activeVersion });
    },
    get(version: number): CertificateRow | undefined {
      return selectVersion.get({ version });
    },
    history(): CertificateRow[] {
      return db.select().from(certificateVersions).orderBy(desc(certificateVersions.version)).all();
    },
    /**
     * The only way a version becomes active: written, marked active, generation bumped and
     * audited in one IMMEDIATE transaction, so every process agrees on what is served.
     * `beforeCommit` runs inside it (the swap); if it throws, nothing is written.
     */
    insertAndActivate(
      version: NewVersion,
      audit: AuditEntry,
      options: ActivationOptions & { beforeCommit?: (row: CertificateRow, generation: number) => void } = {},
    ): CertificateRow {
      return db.transaction(
        (tx) => {
          const { row, generation } = writeActivation(tx, version, audit, options);
          options.beforeCommit?.(row, generation);
          return row;
        },
        { behavior: 'immediate' },
      );
    },
    /**
     * The same in two steps, for the writer thread: write inside an open IMMEDIATE transaction,
     * let the caller swap, then commitOpen() or rollbackOpen().
     */
    beginActivation(version: NewVersion, audit: AuditEntry, options: ActivationOptions = {}): { row: CertificateRow; generation: number } {
      db.$client.exec('BEGIN IMMEDIATE');
      try {
        return writeActivation(db, version, audit, options);
      } catch (error) {
        // SQLite may already have rolled back (SQLITE_FULL, IOERR): a second ROLLBACK would hide the real code.
        if (db.$client.inTransaction) db.$client.exec('ROLLBACK');
        throw error;
      }
    },
    commitOpen(): void {
      db.$client.exec('COMMIT');
    },
    rollbackOpen(): void {
      if (db.$client.inTransaction) db.$client.exec('ROLLBACK');
    },
    /** Boot fallback onto an existing version: activate it and remember why. */
    activateExisting(versionNumber: number, fallbackReason: string | null, audit: AuditEntry, ticketKeysSealed?: Buffer): void {
      db.transaction(
        (tx) => {
          const current = state();
          tx.update(serviceState)
            .set({ activeVersion: versionNumber, generation: current.generation + 1, fallbackReason, updatedAt: clock() })
            .where(eq(serviceState.id, 1))
            .run();
          writeAudit(tx, audit);
          if (ticketKeysSealed) writeTicketKeys(tx, ticketKeysSealed);
        },
        { behavior: 'immediate' },
      );
    },
    setFallbackReason(reason: string | null): void {
      db.update(serviceState).set({ fallbackReason: reason }).where(eq(serviceState.id, 1)).run();
    },
  };
}

export type CertificatesRepo = ReturnType<typeof createCertificatesRepo>;
