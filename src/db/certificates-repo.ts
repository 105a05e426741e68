import { desc, eq, sql } from 'drizzle-orm';
import { insertAudit, type AuditEntry } from './audit-repo.js';
import type { Db } from './open-database.js';
import { certificateVersions, serviceState, settings } from './schema.js';
import { TICKET_KEYS_SETTING } from './settings-repo.js';

export type CertificateSource = 'default' | 'upload' | 'rollback' | 'import';
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

export function createCertificatesRepo(db: Db, clock: () => number) {
  // A read-only connection (hotcert status) writes nothing; the row exists once any writer opened the database.
  if (!db.$client.readonly) db.insert(serviceState).values({ id: 1, generation: 0, updatedAt: clock() }).onConflictDoNothing().run();

  // state() and active() run on every health probe and every sync tick: prepared once.
  const selectState = db.select().from(serviceState).where(eq(serviceState.id, 1)).prepare();
  const selectVersion = db.select().from(certificateVersions).where(eq(certificateVersions.version, sql.placeholder('version'))).prepare();
  const selectGeneration = db.select({ generation: serviceState.generation }).from(serviceState).where(eq(serviceState.id, 1)).prepare();
  const state = (): StateRow => selectState.get()!;

  function writeTicketKeys(tx: Pick<Db, 'insert'>, sealed: Buffer, now: number): void {
    tx.insert(settings)
      .values({ name: TICKET_KEYS_SETTING, value: sealed, updatedAt: now })
      .onConflictDoUpdate({ target: settings.name, set: { value: sealed, updatedAt: now } })
      .run();
  }

  function writeActivation(tx: Pick<Db, 'select' | 'insert' | 'update'>, write: ActivationWrite): ActivationWritten {
    const current = state();
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
    /** Called by activation.ts only (inline, or on the writer thread): see ActivationWrite. */
    activate(write: ActivationWrite): ActivationWritten {
      return db.transaction((tx) => writeActivation(tx, write), { behavior: 'immediate' });
    },
  };
}

export type CertificatesRepo = ReturnType<typeof createCertificatesRepo>;
