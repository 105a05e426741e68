import type { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  SubjectAlternativeName,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  type KeyUsageType,
} from '@peculiar/asn1-x509';
import { readCertificateShell, type CertificateShell } from './certificate-shell.js';
import { decodeOid, readStrict, strictChildren } from './der.js';

/**
 * What node:crypto's X509Certificate does not expose: extension list with critical flags, key-usage bits,
 * path length, EKU OIDs, the signature algorithm. The certificate is read as a shell (certificateShell);
 * extension values are parsed with @peculiar's ASN.1 schema (the layer under @peculiar/x509, without its
 * reflect-metadata requirement), once per parsed certificate.
 */
export interface CertificateDetails {
  signatureAlgorithm: string;
  notBefore: Date;
  notAfter: Date;
  extensions: { oid: string; critical: boolean }[];
  basicConstraints?: { ca: boolean; pathLen?: number };
  keyUsage?: KeyUsageType[];
  extKeyUsage?: string[];
  /** dNSName and iPAddress entries as plain values; other name types as "type:value". */
  sans?: string[];
  /** subjectAltName entry forms hotcert does not read (otherName, x400Address, ediPartyName), once each. */
  unsupportedSanForms?: string[];
}

/**
 * The certificate fields the rules read. Plain DER is read directly (readCertificateShell); anything else
 * goes through the full schema parse, as every certificate used to, so what is accepted and what throws is
 * unchanged. Throws if undecodable. parseCertificates reads it once and keeps it on the parsed certificate.
 */
export function certificateShell(cert: X509Certificate): CertificateShell {
  const raw = cert.raw;
  return readCertificateShell(raw) ?? shellOf(AsnConvert.parse(raw, Certificate));
}

/** The shell from the full schema parse: the fallback, and the reference the fast reader is tested against. */
export function shellOf(asn: Certificate): CertificateShell {
  const tbs = asn.tbsCertificate;
  return {
    signatureAlgorithm: asn.signatureAlgorithm.algorithm,
    serialNumber: new Uint8Array(tbs.serialNumber),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    extensions: (tbs.extensions ?? []).map((ext) => ({ extnID: ext.extnID, critical: ext.critical, value: new Uint8Array(ext.extnValue.buffer) })),
  };
}

/** For a certificate read on its own (describing one outside the pipeline). Throws if undecodable. */
export function certificateDetails(cert: X509Certificate): CertificateDetails {
  return detailsOf(certificateShell(cert));
}

/** Throws if the extensions cannot be decoded; callers turn that into a finding. */
export function detailsOf(shell: CertificateShell): CertificateDetails {
  const details: CertificateDetails = {
    signatureAlgorithm: shell.signatureAlgorithm,
    notBefore: shell.notBefore,
    notAfter: shell.notAfter,
    extensions: [],
  };
  for (const ext of shell.extensions) {
    details.extensions.push({ oid: ext.extnID, critical: ext.critical });
    const { value } = ext;
    if (ext.extnID === id_ce_basicConstraints) {
      const bc = AsnConvert.parse(value, BasicConstraints);
      details.basicConstraints = bc.pathLenConstraint === undefined
        ? { ca: bc.cA }
        : { ca: bc.cA, pathLen: bc.pathLenConstraint };
    } else if (ext.extnID === id_ce_keyUsage) {
      details.keyUsage = AsnConvert.parse(value, KeyUsage).toJSON();
    } else if (ext.extnID === id_ce_extKeyUsage) {
      details.extKeyUsage = Array.from(AsnConvert.parse(value, ExtendedKeyUsage));
    } else if (ext.extnID === id_ce_subjectAltName) {
      const sans = readSubjectAltName(value);
      details.sans = sans.names;
      if (sans.unsupported.length > 0) details.unsupportedSanForms = sans.unsupported;
    }
  }
  return details;
}

/** GeneralName forms by context tag (RFC 5280 4.2.1.6) that hotcert does not decode; TLS clients ignore them. */
const UNSUPPORTED_FORMS: Record<number, string> = { 0xa0: 'otherName', 0xa3: 'x400Address', 0xa5: 'ediPartyName' };

/**
 * The schema parser refuses x400Address and ediPartyName entries though OpenSSL and node read them; those
 * certificates are read entry by entry instead (strict DER), so only a malformed extension throws.
 */
function readSubjectAltName(value: Uint8Array): { names: string[]; unsupported: string[] } {
  const forms = new Set<string>();
  let names: string[];
  try {
    names = Array.from(AsnConvert.parse(value, SubjectAlternativeName)).map(formatGeneralName);
  } catch {
    names = readGeneralNames(value);
  }
  const outer = readStrict(value, 0, value.length);
  for (const entry of (outer && strictChildren(value, outer)) ?? []) {
    const form = UNSUPPORTED_FORMS[entry.tag];
    if (form) forms.add(form);
  }
  return { names, unsupported: [...forms] };
}

function readGeneralNames(value: Uint8Array): string[] {
  const outer = readStrict(value, 0, value.length);
  const entries = outer && outer.tag === 0x30 && outer.end === value.length ? strictChildren(value, outer) : undefined;
  if (!entries || entries.length === 0) throw new Error('subjectAltName is not a GeneralNames SEQUENCE');
  const text = (start: number, end: number) => Buffer.from(value.subarray(start, end)).toString('latin1');
  return entries.map((entry) => {
    switch (entry.tag) {
      case 0x81:
        return `email:${text(entry.start, entry.end)}`;
      case 0x82:
        return text(entry.start, entry.end);
      case 0x86:
        return `URI:${text(entry.start, entry.end)}`;
      case 0x87:
        return formatIp(value.subarray(entry.start, entry.end));
      case 0x88: {
        const oid = decodeOid(value, { tag: 0x06, start: entry.start, end: entry.end });
        if (oid === undefined) throw new Error('bad registeredID');
        return `RID:${oid}`;
      }
      case 0xa4:
        return 'DirName';
      default: {
        const form = UNSUPPORTED_FORMS[entry.tag];
        if (!form || !strictChildren(value, entry)) throw new Error('unknown GeneralName');
        return form;
      }
    }
  });
}

function formatIp(octets: Uint8Array): string {
  if (octets.length === 4) return Array.from(octets).join('.');
  if (octets.length !== 16) return `IP:${Buffer.from(octets).toString('hex')}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((octets[2 * i]! << 8) | octets[2 * i + 1]!).toString(16));
  let best = { at: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j += 1;
    if (j - i > best.length && j - i > 1) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}

function formatGeneralName(name: SubjectAlternativeName[number]): string {
  if (name.dNSName !== undefined) return name.dNSName;
  if (name.iPAddress !== undefined) return name.iPAddress;
  if (name.rfc822Name !== undefined) return `email:${name.rfc822Name}`;
  if (name.uniformResourceIdentifier !== undefined) return `URI:${name.uniformResourceIdentifier}`;
  if (name.registeredID !== undefined) return `RID:${name.registeredID}`;
  if (name.directoryName !== undefined) return 'DirName';
  return 'othername';
}
