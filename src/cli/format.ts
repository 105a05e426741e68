import type { CertificateVersionView } from '../certificates/version-view.js';
import type { DryRunReport } from '../certificates/certificate-service.js';
import { certificateName } from '../validation/certificate-name.js';

export function formatStatus(view: CertificateVersionView, health: { status: string; reason?: string }): string {
  const lines = [
    `status:       ${health.status}${health.reason ? ` (${health.reason})` : ''}`,
    `version:      ${view.version} (source: ${view.source}, created ${view.created_at} by ${view.created_by})`,
    `subject:      ${view.subject || '(empty)'}`,
    `sans:         ${view.sans.join(', ') || '(none)'}`,
    `issuer:       ${view.issuer}`,
    `valid:        ${view.not_before} .. ${view.not_after}`,
    `key:          ${view.key_type}`,
    `fingerprint:  sha256 ${view.fingerprint_sha256}`,
    `chain:        ${view.chain.length === 0 ? '(none)' : view.chain.map((entry) => entry.subject).join(' <- ')}`,
  ];
  for (const warning of view.warnings) lines.push(`warning:      ${warning.message}`);
  return lines.join('\n') + '\n';
}

/** The dry-run report as text: the same findings as `--json`, one per line. */
export function formatReport(report: DryRunReport): string {
  const lines: string[] = [];
  if (report.valid && report.certificate) {
    const cert = report.certificate;
    lines.push(`valid: ${certificateName(cert)} (${cert.key_type}), valid until ${cert.not_after}, sha256 ${cert.fingerprint_sha256}`);
    for (const entry of cert.chain) lines.push(`  chain: ${entry.subject}`);
  } else {
    lines.push('invalid:');
    for (const error of report.errors) lines.push(`  error [${error.rule}]: ${error.message}`);
  }
  for (const warning of report.warnings) lines.push(`  warning [${warning.rule}]: ${warning.message}`);
  return lines.join('\n') + '\n';
}
