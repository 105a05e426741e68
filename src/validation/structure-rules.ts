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
import { certificateShell } from './certificate-details.js';
import { childElements, tbsFields, type Element } from './der.js';
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

const structures = new WeakMap<ParsedCertificate, Finding[]>();

/** RFC 5280 4.1.2.2 wants a positive serial; OpenSSL and node accept zero and negative ones, some clients do not. */
export function checkSerialNumber(cert: ParsedCertificate): Finding | undefined {
  let serial: Uint8Array;
  try {
    serial = certificateShell(cert.x509).serialNumber;
  } catch {
    return undefined;
  }
  const negative = (serial[0]! & 0x80) !== 0;
  const zero = serial.every((octet) => octet === 0);
  if (!negative && !zero) return undefined;
  return finding('serial-not-positive', `${cert.label} has a ${zero ? 'zero' : 'negative'} serial number; RFC 5280 requires a positive one and some clients refuse it, so ask your CA to issue it again if clients complain`, cert.block);
}

/** Applies to every served certificate: encodings that node accepts but TLS clients refuse. */
export function checkCertificateStructure(cert: ParsedCertificate): Finding[] {
  const cached = structures.get(cert);
  if (cached) return cached;
  const problems: string[] = [];
  try {
    const shell = certificateShell(cert.x509);
    const serial = shell.serialNumber;
    const octets = serial.length > MAX_SERIAL_OCTETS && serial[0] === 0 ? serial.length - 1 : serial.length;
    if (octets > MAX_SERIAL_OCTETS) problems.push(`its serial number is ${octets} octets long, more than the ${MAX_SERIAL_OCTETS} allowed`);
    const seen = new Set<string>();
    for (const ext of shell.extensions) {
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
  } catch {
    problems.push('it cannot be decoded');
  }
  for (const problem of validityEncodingProblems(cert.x509.raw)) problems.push(problem);
  const pathLen = cert.details.basicConstraints?.pathLen;
  if (pathLen !== undefined && pathLen < 0) problems.push('its basicConstraints path length is negative');
  const findings = [...new Set(problems)].map((problem) =>
    finding('certificate-invalid', `${cert.label} is not a valid X.509 certificate (${problem}), so TLS clients will refuse it; have it issued again by your CA`, cert.block));
  structures.set(cert, findings);
  return findings;
}

const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

/** RFC 5280 4.1.2.5, as OpenSSL enforces it: YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ, and a real calendar date. */
function validityEncodingProblems(raw: Buffer): string[] {
  const validity = tbsFields(raw)[3];
  if (!validity) return [];
  const [notBefore, notAfter] = childElements(validity.content, 2);
  return [['notBefore', notBefore] as const, ['notAfter', notAfter] as const]
    .filter(([, time]) => !time || !isWellFormedTime(time))
    .map(([name]) => `its ${name} time is not encoded as RFC 5280 requires (YYMMDDHHMMSSZ)`);
}

function isWellFormedTime({ tag, content }: Element): boolean {
  const text = content.toString('latin1');
  const utc = tag === UTC_TIME;
  if (!(utc ? /^\d{12}Z$/ : /^\d{14}Z$/).test(text) || (!utc && tag !== GENERALIZED_TIME)) return false;
  const digits = utc ? `${Number(text.slice(0, 2)) >= 50 ? 19 : 20}${text}` : text;
  const [year, month, day, hour, minute, second] = [0, 4, 6, 8, 10, 12].map((at, i) => Number(digits.slice(at, i === 0 ? 4 : at + 2))) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour < 24 && minute < 60 && second < 60;
}
