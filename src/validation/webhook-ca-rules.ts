import { X509Certificate } from 'node:crypto';
import { certificateLabel, fingerprintSha256 } from './describe-certificate.js';
import { finding, type Finding } from './findings.js';
import { CERTIFICATE_LABEL, encodePem, splitPem } from './pem-splitter.js';
import { isoSeconds } from './validity-rules.js';

export type WebhookCaValidation =
  | { ok: true; certificates: string[]; fingerprints: string[]; warnings: Finding[] }
  | { ok: false; errors: Finding[]; warnings: Finding[] };


/**
 * The webhook trust store (SPEC §3): only CERTIFICATE blocks, each a certificate valid now.
 * A non-CA certificate is accepted with a warning: people pin self-signed server certificates here.
 */
export function validateWebhookCa(input: string | Uint8Array, now: number): WebhookCaValidation {
  const split = splitPem(input);
  if (!split.ok) return { ok: false, errors: split.errors, warnings: split.warnings };
  const errors: Finding[] = [];
  const warnings: Finding[] = [...split.warnings];
  const certificates: string[] = [];
  const fingerprints: string[] = [];
  for (const block of split.blocks) {
    if (block.label !== CERTIFICATE_LABEL) {
      const what = block.label.includes('PRIVATE KEY') ? 'a private key' : `a ${block.label} block`;
      errors.push(finding('webhook-ca-not-certificate', `block ${block.index} is ${what}; the webhook trust store takes CERTIFICATE blocks only, remove it`, block.index));
      continue;
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block.der);
    } catch {
      errors.push(finding('certificate-invalid', `block ${block.index} is not a valid X.509 certificate; copy it again in full`, block.index));
      continue;
    }
    const label = certificateLabel(block.index, cert);
    const notBefore = new Date(cert.validFrom);
    const notAfter = new Date(cert.validTo);
    if (now < notBefore.getTime()) {
      errors.push(finding('not-yet-valid', `${label}: certificate is not valid before ${isoSeconds(notBefore)}; upload it after that time`, block.index));
      continue;
    }
    if (now > notAfter.getTime()) {
      errors.push(finding('expired', `${label}: certificate expired on ${isoSeconds(notAfter)}; upload the CA's current certificate`, block.index));
      continue;
    }
    if (!cert.ca) {
      warnings.push(finding('webhook-ca-not-ca', `${label} is not a CA certificate; it is trusted as a pinned server certificate only`, block.index));
    }
    const fingerprint = fingerprintSha256(cert);
    if (fingerprints.includes(fingerprint)) {
      warnings.push(finding('duplicate-certificate', `${label} appears twice; the copy was dropped`, block.index));
      continue;
    }
    fingerprints.push(fingerprint);
    certificates.push(encodePem(CERTIFICATE_LABEL, block.der));
  }
  if (errors.length === 0 && certificates.length === 0) {
    errors.push(finding('certificate-missing', 'the body holds no CERTIFICATE block; send one or more PEM certificates'));
  }
  return errors.length > 0 ? { ok: false, errors, warnings } : { ok: true, certificates, fingerprints, warnings };
}
