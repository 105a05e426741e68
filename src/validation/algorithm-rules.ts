import { finding, type Finding } from './findings.js';
import type { ParsedCertificate } from './parse-certificates.js';

/** SPEC rule 7, signatures: MD5 and SHA-1 (and older) are refused. */
export const WEAK_SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.2': 'MD2 with RSA',
  '1.2.840.113549.1.1.3': 'MD4 with RSA',
  '1.2.840.113549.1.1.4': 'MD5 with RSA',
  '1.2.840.113549.1.1.5': 'SHA-1 with RSA',
  '1.3.14.3.2.29': 'SHA-1 with RSA',
  '1.2.840.10045.4.1': 'ECDSA with SHA-1',
  '1.2.840.10040.4.3': 'DSA with SHA-1',
};

/** Call for every certificate whose signature matters: not for a self-signed root, whose self-signature nobody checks. */
export function checkSignatureAlgorithm(cert: ParsedCertificate): Finding | undefined {
  const name = WEAK_SIGNATURE_ALGORITHMS[cert.details.signatureAlgorithm];
  if (!name) return undefined;
  return finding('weak-signature', `${cert.label} is signed with ${name}, which clients no longer accept; have it issued again with a SHA-256 (or stronger) signature`, cert.block);
}
