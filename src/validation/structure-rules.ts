import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  CRLDistributionPoints,
  NameConstraints,
  SubjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLDistributionPoints,
  id_ce_nameConstraints,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { finding, type Finding } from './findings.js';
import type { ParsedCertificate } from './parse-certificates.js';

/** RFC 5280 4.1.2.2: at most 20 octets; one more is tolerated for the 0x00 that keeps a 20-octet serial positive. */
export const MAX_SERIAL_OCTETS = 20;

/**
 * Extensions OpenSSL decodes while building a chain: one it cannot decode makes every OpenSSL client
 * (curl, openssl s_client, most non-browser software) refuse the chain, though node:crypto parses it.
 */
const DECODED_EXTENSIONS: Record<string, { name: string; schema: new () => object }> = {
  [id_ce_subjectKeyIdentifier]: { name: 'subjectKeyIdentifier', schema: SubjectKeyIdentifier },
  [id_ce_authorityKeyIdentifier]: { name: 'authorityKeyIdentifier', schema: AuthorityKeyIdentifier },
  [id_ce_nameConstraints]: { name: 'nameConstraints', schema: NameConstraints },
  [id_ce_cRLDistributionPoints]: { name: 'cRLDistributionPoints', schema: CRLDistributionPoints },
};

/** RFC 5280 4.1.2.2 wants a positive serial; OpenSSL and node accept zero and negative ones, some clients do not. */
export function checkSerialNumber(cert: ParsedCertificate): Finding | undefined {
  const serial = cert.shell.serialNumber;
  const negative = (serial[0]! & 0x80) !== 0;
  const zero = serial.every((octet) => octet === 0);
  if (!negative && !zero) return undefined;
  return finding('serial-not-positive', `${cert.label} has a ${zero ? 'zero' : 'negative'} serial number; RFC 5280 requires a positive one and some clients refuse it, so ask your CA to issue it again if clients complain`, cert.block);
}

/**
 * Applies to every served certificate: encodings that node accepts but TLS clients refuse. Reads what
 * parseCertificates kept (shell, details, validity encoding); only the extensions OpenSSL decodes are parsed here.
 */
export function checkCertificateStructure(cert: ParsedCertificate): Finding[] {
  const problems: string[] = [];
  const serial = cert.shell.serialNumber;
  const octets = serial.length > MAX_SERIAL_OCTETS && serial[0] === 0 ? serial.length - 1 : serial.length;
  if (octets > MAX_SERIAL_OCTETS) problems.push(`its serial number is ${octets} octets long, more than the ${MAX_SERIAL_OCTETS} allowed`);
  const seen = new Set<string>();
  for (const ext of cert.shell.extensions) {
    if (seen.has(ext.extnID)) problems.push(`it contains the extension ${ext.extnID} more than once`);
    seen.add(ext.extnID);
    const decoded = DECODED_EXTENSIONS[ext.extnID];
    if (!decoded) continue;
    try {
      AsnConvert.parse(ext.value, decoded.schema);
    } catch {
      problems.push(`its ${decoded.name} extension cannot be decoded`);
    }
  }
  for (const time of cert.malformedTimes) problems.push(`its ${time} time is not encoded as RFC 5280 requires (YYMMDDHHMMSSZ)`);
  const pathLen = cert.details.basicConstraints?.pathLen;
  if (pathLen !== undefined && pathLen < 0) problems.push('its basicConstraints path length is negative');
  return [...new Set(problems)].map((problem) =>
    finding('certificate-invalid', `${cert.label} is not a valid X.509 certificate (${problem}), so TLS clients will refuse it; have it issued again by your CA`, cert.block));
}
