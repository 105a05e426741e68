import { desc, eq, sql } from 'drizzle-orm';
import { PreconditionFailedError, type ActivationWrite, type ActivationWritten } from '../certificates-repo.js';
import type { CertificateStore } from '../ports.js';
import { TICKET_KEYS_SETTING } from '../settings-repo.js';
import { insertAudit } from './audit-store.js';
import { notifyChange } from './notify-in-transaction.js';
import type { PgDb } from './open-postgres.js';
import { certificateVersions, serviceState, settings } from './schema.js';

/** The PostgreSQL CertificateStore; the service_state row is created by the migrations. */
export function createPgCertificateStore(db: PgDb): CertificateStore {
  const readState = async () => {
    const [row] = await db.select().from(serviceState).where(eq(serviceState.id, 1));
    if (!row) throw new Error('service_state row missing: the PostgreSQL migrations did not run');
    return row;
  };
  const readVersion = async (version: number) => (await db.select().from(certificateVersions).where(eq(certificateVersions.version, version)))[0];

  /**
   * The activation in one transaction. The service_state row is locked first (FOR UPDATE), so activations
   * from every instance queue there: If-Match, the next version number and the generation are read under
   * that lock. The NOTIFY is part of the transaction: sent if and only if it commits.
   */
  async function activate(write: ActivationWrite): Promise<ActivationWritten> {
    return db.transaction(async (tx) => {
      const [current] = await tx.select().from(serviceState).where(eq(serviceState.id, 1)).for('update');
      if (!current) throw new Error('service_state row missing: the PostgreSQL migrations did not run');
      if (write.expectedFingerprint !== undefined) {
        const [active] =
          current.activeVersion === null
            ? []
            : await tx.select({ fingerprint: certificateVersions.fingerprint }).from(certificateVersions).where(eq(certificateVersions.version, current.activeVersion));
        if (active?.fingerprint !== write.expectedFingerprint) throw new PreconditionFailedError();
      }
      let version: number;
      let createdAt = write.now;
      const details: Record<string, unknown> = { ...write.audit.details };
      if ('insert' in write.target) {
        const [max] = await tx.select({ max: sql<number | null>`max(${certificateVersions.version})` }).from(certificateVersions);
        version = (max?.max ?? 0) + 1;
        await tx.insert(certificateVersions).values({ ...write.target.insert, version, createdAt });
        Object.assign(details, { version, source: write.target.insert.source });
      } else {
        version = write.target.existing;
        const [stored] = await tx.select({ createdAt: certificateVersions.createdAt }).from(certificateVersions).where(eq(certificateVersions.version, version));
        if (!stored) throw new Error(`version ${version} does not exist`);
        createdAt = stored.createdAt;
      }
      const generation = current.generation + 1;
      await tx.update(serviceState).set({ activeVersion: version, generation, fallbackReason: write.fallbackReason, updatedAt: write.now }).where(eq(serviceState.id, 1));
      await insertAudit(tx, write.now, { ...write.audit, details });
      if (write.ticketKeysSealed) {
        const sealed = write.ticketKeysSealed;
        await tx
          .insert(settings)
          .values({ name: TICKET_KEYS_SETTING, value: sealed, updatedAt: write.now })
          .onConflictDoUpdate({ target: settings.name, set: { value: sealed, updatedAt: write.now } });
      }
      await notifyChange(tx, 'certificate');
      return { version, generation, createdAt };
    });
  }

  return {
    state: readState,
    async generation() {
      const [row] = await db.select({ generation: serviceState.generation }).from(serviceState).where(eq(serviceState.id, 1));
      return row?.generation ?? 0;
    },
    async active() {
      const { activeVersion } = await readState();
      return activeVersion === null ? undefined : readVersion(activeVersion);
    },
    get: readVersion,
    history: () => db.select().from(certificateVersions).orderBy(desc(certificateVersions.version)),
    activate,
  };
}
