import { and, eq, inArray, isNotNull } from 'drizzle-orm';
import type { Db } from './open-database.js';
import { CheckValueChangedError, type SealedValueStore } from './ports.js';
import { acmeChallenges, certificateVersions, pendingKeys, settings, webhooks } from './schema.js';

/** Every sealed value of the SQLite database, re-sealed in one IMMEDIATE transaction (no writer slips in between). */
export function createSealedValuesRepo(db: Db): SealedValueStore {
  return {
    async resealAll(input) {
      return db.transaction(
        (tx) => {
          const stored = tx.select({ value: settings.value }).from(settings).where(eq(settings.name, input.checkSetting)).get();
          if (!stored || !Buffer.from(stored.value).equals(input.expectedCheck)) throw new CheckValueChangedError('the master-key check value changed meanwhile');
          let count = 0;
          for (const row of tx.select({ version: certificateVersions.version, fingerprint: certificateVersions.fingerprint, sealed: certificateVersions.keySealed }).from(certificateVersions).all()) {
            const keySealed = input.reseal({ kind: 'certificate', version: row.version, fingerprint: row.fingerprint, sealed: Buffer.from(row.sealed) });
            tx.update(certificateVersions).set({ keySealed }).where(eq(certificateVersions.version, row.version)).run();
            count++;
          }
          for (const row of tx.select({ id: pendingKeys.id, spkiSha256: pendingKeys.spkiSha256, sealed: pendingKeys.keySealed }).from(pendingKeys).all()) {
            const keySealed = input.reseal({ kind: 'pending-key', id: row.id, spkiSha256: row.spkiSha256, sealed: Buffer.from(row.sealed) });
            tx.update(pendingKeys).set({ keySealed }).where(eq(pendingKeys.id, row.id)).run();
            count++;
          }
          for (const row of tx.select({ id: webhooks.id, sealed: webhooks.secretSealed }).from(webhooks).all()) {
            const secretSealed = input.reseal({ kind: 'webhook-secret', id: row.id, sealed: Buffer.from(row.sealed) });
            tx.update(webhooks).set({ secretSealed }).where(eq(webhooks.id, row.id)).run();
            count++;
          }
          const challenges = tx.select({ token: acmeChallenges.token, sealed: acmeChallenges.keySealed }).from(acmeChallenges).where(isNotNull(acmeChallenges.keySealed)).all();
          for (const row of challenges) {
            const keySealed = input.reseal({ kind: 'acme-challenge', token: row.token, sealed: Buffer.from(row.sealed!) });
            tx.update(acmeChallenges).set({ keySealed }).where(eq(acmeChallenges.token, row.token)).run();
            count++;
          }
          if (input.settingNames.length > 0) {
            for (const row of tx.select({ name: settings.name, sealed: settings.value }).from(settings).where(inArray(settings.name, input.settingNames)).all()) {
              const value = input.reseal({ kind: 'setting', name: row.name, sealed: Buffer.from(row.sealed) });
              tx.update(settings).set({ value, updatedAt: input.now }).where(eq(settings.name, row.name)).run();
              count++;
            }
          }
          tx.update(settings)
            .set({ value: input.check, updatedAt: input.now })
            .where(and(eq(settings.name, input.checkSetting)))
            .run();
          return count;
        },
        { behavior: 'immediate' },
      );
    },
  };
}
