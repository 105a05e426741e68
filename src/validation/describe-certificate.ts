import type { X509Certificate } from 'node:crypto';
import { certificateDetails, type CertificateDetails } from './certificate-details.js';
import { certificateName } from './certificate-name.js';
import { keyTypeName } from './key-rules.js';

export { certificateName };

/** The certificate fields of a version object (SPEC "The server certificate"). */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  /** Lowercase hex. */
  serial: string;
  /** Plain DNS names and IP addresses, e.g. ["localhost", "127.0.0.1", "::1"]. */
  sans: string[];
  /** ISO 8601 UTC. */
  not_before: string;
  not_after: string;
  /** 64 lowercase hex characters, no colons. */
  fingerprint_sha256: string;
  /** "RSA-2048", "EC-P256", "EC-P384", "EC-P521", "Ed25519". */
  key_type: string;
}

export interface ChainEntry {
  subject: string;
  issuer: string;
  not_after: string;
  fingerprint_sha256: string;
}

/** RFC 4514 order ("CN=leaf, O=Org, C=US") from node's one-attribute-per-line form; '' for an empty name (node gives undefined). */
export function formatName(multiline: string | undefined): string {
  return (multiline ?? '').split('\n').filter((part) => part !== '').reverse().join(', ');
}

export function fingerprintSha256(cert: X509Certificate): string {
  return cert.fingerprint256.replace(/:/g, '').toLowerCase();
}

/** `details` as parseCertificates read them; read here for a certificate described on its own. */
export function describeCertificate(cert: X509Certificate, details: CertificateDetails = certificateDetails(cert)): CertificateSummary {
  return {
    subject: formatName(cert.subject),
    issuer: formatName(cert.issuer),
    serial: cert.serialNumber.toLowerCase(),
    sans: details.sans ?? [],
    not_before: details.notBefore.toISOString(),
    not_after: details.notAfter.toISOString(),
    fingerprint_sha256: fingerprintSha256(cert),
    key_type: keyTypeName(cert.publicKey),
  };
}

export function describeChainEntry(cert: X509Certificate, details: CertificateDetails = certificateDetails(cert)): ChainEntry {
  return {
    subject: formatName(cert.subject),
    issuer: formatName(cert.issuer),
    not_after: details.notAfter.toISOString(),
    fingerprint_sha256: fingerprintSha256(cert),
  };
}


/** "block 3 (CN=Example Intermediate CA)": how findings name a certificate. Trimmed and stripped of control characters. */
export function certificateLabel(block: number, cert: X509Certificate): string {
  const subject = formatName(cert.subject);
  const sans = subject === '' ? (cert.subjectAltName ?? '').split(', ').filter((name) => name !== '') : [];
  const name = certificateName({ subject, sans, serial: cert.serialNumber.toLowerCase() }).replace(/[\u0000-\u001f\u007f]/g, ' ');
  const shown = name.length > 120 ? `${name.slice(0, 117)}...` : name;
  return `block ${block} (${shown})`;
}
