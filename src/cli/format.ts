import type { CertificateVersionView } from '../certificates/version-view.js';
import { certificateName } from '../validation/describe-certificate.js';
import type { ValidateOutcome } from '../workers/validate-worker.js';

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

export function formatReport(outcome: ValidateOutcome): string {
  const lines: string[] = [];
  if (outcome.ok) {
    const cert = outcome.bundle.certificate;
    lines.push(`valid: ${certificateName(cert)} (${cert.key_type}), valid until ${cert.not_after}, sha256 ${cert.fingerprint_sha256}`);
    for (const entry of outcome.bundle.chain) lines.push(`  chain: ${entry.subject}`);
  } else {
    lines.push('invalid:');
    for (const error of outcome.errors) lines.push(`  error [${error.rule}]: ${error.message}`);
  }
  for (const warning of outcome.warnings) lines.push(`  warning [${warning.rule}]: ${warning.message}`);
  return lines.join('\n') + '\n';
}
