import type { CertificateRow } from '../db/certificates-repo.js';
import { unseal } from '../secrets/seal.js';
import { identityProblem, type TlsIdentity } from '../tls/tls-identity.js';
import type { StoredSummary } from './version-view.js';

/** Unseals a stored version into what a listener serves. Throws UnsealError under the wrong master key. */
export function loadIdentity(row: CertificateRow, masterKey: Buffer): TlsIdentity {
  return {
    fingerprint: row.fingerprint,
    keyPem: unseal(masterKey, row.keySealed, row.fingerprint),
    certPem: row.certPem,
    chainPems: JSON.parse(row.chainPem) as string[],
  };
}

/** A stored version as a servable identity, or why it cannot be served. Never throws. */
export function tryLoadIdentity(row: CertificateRow, masterKey: Buffer): { identity: TlsIdentity } | { problem: string } {
  try {
    const identity = loadIdentity(row, masterKey);
    const problem = identityProblem(identity);
    return problem ? { problem } : { identity };
  } catch (error) {
    return { problem: error instanceof Error && error.name === 'UnsealError' ? error.message : 'the stored row is damaged' };
  }
}

export function notAfterOf(row: Pick<CertificateRow, 'summaryJson'>): number {
  return Date.parse((JSON.parse(row.summaryJson) as StoredSummary).certificate.not_after);
}
