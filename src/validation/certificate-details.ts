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

/**
 * What node:crypto's X509Certificate does not expose: extension list with critical flags, key-usage bits,
 * path length, EKU OIDs, the signature algorithm. The certificate is read as a shell (certificateShell);
 * extension values are parsed with @peculiar's ASN.1 schema (the layer under @peculiar/x509, without its
 * reflect-metadata requirement), once per certificate object.
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
}

const cache = new WeakMap<X509Certificate, CertificateDetails>();
const shells = new WeakMap<X509Certificate, CertificateShell>();

/**
 * The certificate fields the rules read, once per certificate object. Plain DER is read directly
 * (readCertificateShell); anything else goes through the full schema parse, as every certificate used to,
 * so what is accepted and what throws is unchanged. Throws if undecodable.
 */
export function certificateShell(cert: X509Certificate): CertificateShell {
  let shell = shells.get(cert);
  if (!shell) {
    const raw = cert.raw;
    shell = readCertificateShell(raw) ?? shellOf(AsnConvert.parse(raw, Certificate));
    shells.set(cert, shell);
  }
  return shell;
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

/** Throws if the extensions cannot be decoded; callers turn that into a finding. */
export function certificateDetails(cert: X509Certificate): CertificateDetails {
  const cached = cache.get(cert);
  if (cached) return cached;
  const shell = certificateShell(cert);
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
      details.sans = Array.from(AsnConvert.parse(value, SubjectAlternativeName)).map(formatGeneralName);
    }
  }
  cache.set(cert, details);
  return details;
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
