import { X509Certificate, type KeyObject } from 'node:crypto';
import { certificateShell, detailsOf, type CertificateDetails } from './certificate-details.js';
import { malformedValidityTimes, type CertificateShell } from './certificate-shell.js';
import { certificateLabel, fingerprintSha256 } from './describe-certificate.js';
import { finding, type Finding } from './findings.js';
import { keyIdentifiers, type KeyIdentifiers } from './key-identifiers.js';
import { KEY_FIX, unsupportedKeyAlgorithmName } from './key-rules.js';
import { canonicalNames, type CanonicalNames } from './name-canon.js';
import { CERTIFICATE_LABEL, type PemBlock } from './pem-splitter.js';

/** SPEC rule 4: "at most 10 certificates". */
export const MAX_CERTIFICATES = 10;

/** One certificate of an upload, read once: the rules take every field from here and re-read nothing. */
export interface ParsedCertificate {
  block: number;
  x509: X509Certificate;
  /** The fields as encoded (serial octets, extension list with values). */
  shell: CertificateShell;
  details: CertificateDetails;
  /** Null when the key-identifier extensions cannot be decoded (the structure rules say so). */
  keyIds: KeyIdentifiers | null;
  /** Validity times not encoded as RFC 5280 requires (the structure rules refuse those). */
  malformedTimes: ('notBefore' | 'notAfter')[];
  /** "block 3 (CN=...)" for messages. */
  label: string;
  fingerprint: string;
  /** node builds a new KeyObject on every `x509.publicKey` read; read it once. */
  publicKey: KeyObject;
  /** Issuer and subject as RFC 5280 compares them (case and white space folded): what chains. */
  names: CanonicalNames;
  /** Subject and issuer names are equal. */
  selfIssued: boolean;
  /** Self-issued and signed by its own key: set by isSelfSigned on first use (a signature check is not free). */
  selfSigned?: boolean;
}

export interface ParsedCertificates {
  certificates: ParsedCertificate[];
  errors: Finding[];
  warnings: Finding[];
  /** False when parsing stopped early (too many certificates). */
  complete: boolean;
}

/** Parses every CERTIFICATE block once and drops exact duplicates (warning). */
export function parseCertificates(blocks: PemBlock[]): ParsedCertificates {
  const certBlocks = blocks.filter((b) => b.label === CERTIFICATE_LABEL);
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  if (certBlocks.length === 0) {
    errors.push(finding('certificate-missing', 'the upload has no certificate; add the server certificate and its intermediates after the private key'));
    return { certificates: [], errors, warnings, complete: true };
  }
  if (certBlocks.length > MAX_CERTIFICATES) {
    errors.push(finding('chain-too-long', `the upload has ${certBlocks.length} certificates, more than the ${MAX_CERTIFICATES} allowed; keep only the server certificate and the intermediates above it`));
    return { certificates: [], errors, warnings, complete: false };
  }
  const certificates: ParsedCertificate[] = [];
  for (const block of certBlocks) {
    let x509: X509Certificate;
    let shell: CertificateShell;
    let details: CertificateDetails;
    let publicKey: KeyObject;
    try {
      x509 = new X509Certificate(block.der);
      shell = certificateShell(x509);
      details = detailsOf(shell);
    } catch {
      errors.push(finding('certificate-invalid', `block ${block.index} is not a valid X.509 certificate; copy it again in full or download it again from your CA`, block.index));
      continue;
    }
    try {
      publicKey = x509.publicKey;
    } catch {
      // A well-formed certificate whose key node:crypto cannot load (GOST, SM2, ...): say which.
      const algorithm = unsupportedKeyAlgorithmName(x509.raw);
      errors.push(algorithm
        ? finding('unsupported-key', `${certificateLabel(block.index, x509)} has a public key of a type hotcert does not support (${algorithm}); ${KEY_FIX}`, block.index)
        : finding('certificate-invalid', `${certificateLabel(block.index, x509)} is not a valid X.509 certificate (its public key cannot be decoded); copy it again in full or download it again from your CA`, block.index));
      continue;
    }
    const fingerprint = fingerprintSha256(x509);
    const label = certificateLabel(block.index, x509);
    const first = certificates.find((c) => c.fingerprint === fingerprint);
    if (first) {
      warnings.push(finding('duplicate-certificate', `${label} is the same certificate as block ${first.block} and was dropped; nothing to fix`, block.index));
      continue;
    }
    const names = canonicalNames(x509.raw) ?? { issuer: `node:${x509.issuer}`, subject: `node:${x509.subject}` };
    certificates.push({
      block: block.index,
      x509,
      shell,
      details,
      keyIds: keyIdentifiers(shell),
      malformedTimes: malformedValidityTimes(x509.raw),
      label,
      fingerprint,
      publicKey,
      names,
      selfIssued: names.issuer === names.subject,
    });
  }
  return { certificates, errors, warnings, complete: true };
}

/**
 * Whether `parent` issued `child`: names match as RFC 5280 compares them (node's checkIssued compares exact
 * strings) and the signature verifies. Key usage and CA flag are checked separately.
 */
export function issuedBy(child: ParsedCertificate, parent: ParsedCertificate): boolean {
  if (child.names.issuer !== parent.names.subject) return false;
  try {
    return child.x509.verify(parent.publicKey);
  } catch {
    return false;
  }
}

export function isSelfSigned(cert: ParsedCertificate): boolean {
  cert.selfSigned ??= cert.selfIssued && issuedBy(cert, cert);
  return cert.selfSigned;
}
