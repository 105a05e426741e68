import { eq, inArray, isNotNull } from 'drizzle-orm';
import { CheckValueChangedError, type SealedValueStore } from '../ports.js';
import type { PgDb } from './open-postgres.js';
import { acmeChallenges, certificateVersions, pendingKeys, settings, webhooks } from './schema.js';

/**
 * Every sealed value of the fleet's database, re-sealed in one transaction. The check value's row is
 * locked first and every other row read FOR UPDATE, so a second rotation waits and then finds the check
 * value changed, and nothing is re-sealed twice or missed.
 */
export function createPgSealedValuesStore(db: PgDb): SealedValueStore {
  return {
    async resealAll(input) {
      return db.transaction(async (tx) => {
        const [stored] = await tx.select({ value: settings.value }).from(settings).where(eq(settings.name, input.checkSetting)).for('update');
        if (!stored || !stored.value.equals(input.expectedCheck)) throw new CheckValueChangedError('the master-key check value changed meanwhile');
        let count = 0;
        const certificates = await tx
          .select({ version: certificateVersions.version, fingerprint: certificateVersions.fingerprint, sealed: certificateVersions.keySealed })
          .from(certificateVersions)
          .for('update');
        for (const row of certificates) {
          const keySealed = input.reseal({ kind: 'certificate', version: row.version, fingerprint: row.fingerprint, sealed: row.sealed });
          await tx.update(certificateVersions).set({ keySealed }).where(eq(certificateVersions.version, row.version));
          count++;
        }
        for (const row of await tx.select({ id: pendingKeys.id, spkiSha256: pendingKeys.spkiSha256, sealed: pendingKeys.keySealed }).from(pendingKeys).for('update')) {
          const keySealed = input.reseal({ kind: 'pending-key', id: row.id, spkiSha256: row.spkiSha256, sealed: row.sealed });
          await tx.update(pendingKeys).set({ keySealed }).where(eq(pendingKeys.id, row.id));
          count++;
        }
        for (const row of await tx.select({ id: webhooks.id, sealed: webhooks.secretSealed }).from(webhooks).for('update')) {
          const secretSealed = input.reseal({ kind: 'webhook-secret', id: row.id, sealed: row.sealed });
          await tx.update(webhooks).set({ secretSealed }).where(eq(webhooks.id, row.id));
          count++;
        }
        const challenges = await tx.select({ token: acmeChallenges.token, sealed: acmeChallenges.keySealed }).from(acmeChallenges).where(isNotNull(acmeChallenges.keySealed)).for('update');
        for (const row of challenges) {
          const keySealed = input.reseal({ kind: 'acme-challenge', token: row.token, sealed: row.sealed! });
          await tx.update(acmeChallenges).set({ keySealed }).where(eq(acmeChallenges.token, row.token));
          count++;
        }
        if (input.settingNames.length > 0) {
          for (const row of await tx.select({ name: settings.name, sealed: settings.value }).from(settings).where(inArray(settings.name, input.settingNames)).for('update')) {
            const value = input.reseal({ kind: 'setting', name: row.name, sealed: row.sealed });
            await tx.update(settings).set({ value, updatedAt: input.now }).where(eq(settings.name, row.name));
            count++;
          }
        }
        await tx.update(settings).set({ value: input.check, updatedAt: input.now }).where(eq(settings.name, input.checkSetting));
        return count;
      });
    },
  };
}
