import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  SubjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import type { CertificateShell } from './certificate-shell.js';

/** Key identifiers as lowercase hex; what OpenSSL (X509_check_akid) matches before it tries an issuer's signature. */
export interface KeyIdentifiers {
  subjectKeyId?: string;
  authorityKeyId?: string;
  authoritySerial?: string;
  serial: string;
}

const hex = (bytes: ArrayBuffer | Uint8Array): string => (bytes instanceof Uint8Array ? Buffer.from(bytes) : Buffer.from(bytes)).toString('hex');

/** Null when the extensions cannot be decoded (reported by the structure rules). */
export function keyIdentifiers(shell: CertificateShell): KeyIdentifiers | null {
  try {
    const result: KeyIdentifiers = { serial: hex(shell.serialNumber) };
    for (const ext of shell.extensions) {
      if (ext.extnID === id_ce_subjectKeyIdentifier) {
        result.subjectKeyId = hex(AsnConvert.parse(ext.value, SubjectKeyIdentifier).buffer);
      } else if (ext.extnID === id_ce_authorityKeyIdentifier) {
        const aki = AsnConvert.parse(ext.value, AuthorityKeyIdentifier);
        if (aki.keyIdentifier) result.authorityKeyId = hex(aki.keyIdentifier.buffer);
        if (aki.authorityCertSerialNumber) result.authoritySerial = hex(aki.authorityCertSerialNumber);
      }
    }
    return result;
  } catch {
    return null;
  }
}

/** False when the child's authorityKeyIdentifier names another key (or serial) than the issuer's: OpenSSL will not link them. */
export function keyIdentifiersMatch(child: KeyIdentifiers | null, issuer: KeyIdentifiers | null): boolean {
  if (!child || !issuer) return true;
  if (child.authorityKeyId !== undefined && issuer.subjectKeyId !== undefined && child.authorityKeyId !== issuer.subjectKeyId) return false;
  if (child.authoritySerial !== undefined && child.authoritySerial !== issuer.serial) return false;
  return true;
}
