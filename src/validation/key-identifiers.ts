import type { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  SubjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { certificateShell } from './certificate-details.js';

/** Key identifiers as lowercase hex; what OpenSSL (X509_check_akid) matches before it tries an issuer's signature. */
export interface KeyIdentifiers {
  subjectKeyId?: string;
  authorityKeyId?: string;
  authoritySerial?: string;
  serial: string;
}

const cache = new WeakMap<X509Certificate, KeyIdentifiers | null>();
const hex = (bytes: ArrayBuffer | Uint8Array): string => (bytes instanceof Uint8Array ? Buffer.from(bytes) : Buffer.from(bytes)).toString('hex');

/** Null when the extensions cannot be decoded (reported by the structure rules). */
export function keyIdentifiers(cert: X509Certificate): KeyIdentifiers | null {
  const cached = cache.get(cert);
  if (cached !== undefined) return cached;
  let result: KeyIdentifiers | null;
  try {
    const shell = certificateShell(cert);
    result = { serial: hex(shell.serialNumber) };
    for (const ext of shell.extensions) {
      if (ext.extnID === id_ce_subjectKeyIdentifier) {
        result.subjectKeyId = hex(AsnConvert.parse(ext.value, SubjectKeyIdentifier).buffer);
      } else if (ext.extnID === id_ce_authorityKeyIdentifier) {
        const aki = AsnConvert.parse(ext.value, AuthorityKeyIdentifier);
        if (aki.keyIdentifier) result.authorityKeyId = hex(aki.keyIdentifier.buffer);
        if (aki.authorityCertSerialNumber) result.authoritySerial = hex(aki.authorityCertSerialNumber);
      }
    }
  } catch {
    result = null;
  }
  cache.set(cert, result);
  return result;
}

/** False when the child's authorityKeyIdentifier names another key (or serial) than the issuer's: OpenSSL will not link them. */
export function keyIdentifiersMatch(child: X509Certificate, issuer: X509Certificate): boolean {
  const c = keyIdentifiers(child);
  const i = keyIdentifiers(issuer);
  if (!c || !i) return true;
  if (c.authorityKeyId !== undefined && i.subjectKeyId !== undefined && c.authorityKeyId !== i.subjectKeyId) return false;
  if (c.authoritySerial !== undefined && c.authoritySerial !== i.serial) return false;
  return true;
}
