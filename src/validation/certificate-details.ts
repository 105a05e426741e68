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

/**
 * What node:crypto's X509Certificate does not expose: extension list with critical flags, key-usage bits,
 * path length, EKU OIDs, the signature algorithm. Parsed with @peculiar's ASN.1 schema (the layer under
 * @peculiar/x509, without its reflect-metadata requirement), once per certificate object.
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
const parsed = new WeakMap<X509Certificate, Certificate>();

/** The certificate's ASN.1 structure, parsed once per certificate object and shared by the rules. Throws if undecodable. */
export function asnCertificate(cert: X509Certificate): Certificate {
  let asn = parsed.get(cert);
  if (!asn) {
    asn = AsnConvert.parse(cert.raw, Certificate);
    parsed.set(cert, asn);
  }
  return asn;
}

/** Throws if the extensions cannot be decoded; callers turn that into a finding. */
export function certificateDetails(cert: X509Certificate): CertificateDetails {
  const cached = cache.get(cert);
  if (cached) return cached;
  const asn = asnCertificate(cert);
  const tbs = asn.tbsCertificate;
  const details: CertificateDetails = {
    signatureAlgorithm: asn.signatureAlgorithm.algorithm,
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    extensions: [],
  };
  for (const ext of tbs.extensions ?? []) {
    details.extensions.push({ oid: ext.extnID, critical: ext.critical });
    const value = ext.extnValue.buffer;
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
