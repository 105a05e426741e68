import type { CertificateRow } from '../db/certificates-repo.js';
import type { ChainEntry, CertificateSummary } from '../validation/describe-certificate.js';
import type { Finding } from '../validation/findings.js';

export interface StoredSummary {
  certificate: CertificateSummary;
  chain: ChainEntry[];
}

/** The public shape of a version (SPEC §3): never a private key. */
export interface CertificateVersionView extends CertificateSummary {
  version: number;
  active: boolean;
  source: CertificateRow['source'];
  chain: ChainEntry[];
  created_at: string;
  created_by: string;
  warnings: Finding[];
}

export function toVersionView(row: CertificateRow, activeVersion: number | null): CertificateVersionView {
  const summary = JSON.parse(row.summaryJson) as StoredSummary;
  return {
    version: row.version,
    active: row.version === activeVersion,
    source: row.source,
    ...summary.certificate,
    chain: summary.chain,
    created_at: new Date(row.createdAt).toISOString(),
    created_by: row.createdBy,
    warnings: JSON.parse(row.warningsJson) as Finding[],
  };
}
