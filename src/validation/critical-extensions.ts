import { finding, type Finding } from './findings.js';
import type { ParsedCertificate } from './parse-certificates.js';

interface KnownExtension {
  name: string;
  /** Whether OpenSSL's verifier accepts the extension marked critical. */
  mayBeCritical: boolean;
}

/**
 * Extensions hotcert knows, and whether they may be critical. The list of those that may is OpenSSL's
 * (X509_supported_extension, crypto/x509/v3_purp.c): a critical extension outside it makes OpenSSL's
 * verifier, hence curl, openssl s_client and most non-browser clients, refuse the whole chain ("unhandled
 * critical extension"). test/validation/critical-extensions.test.ts checks every entry against `openssl verify`.
 */
export const KNOWN_EXTENSIONS: Record<string, KnownExtension> = {
  '2.5.29.19': { name: 'basicConstraints', mayBeCritical: true },
  '2.5.29.15': { name: 'keyUsage', mayBeCritical: true },
  '2.5.29.37': { name: 'extKeyUsage', mayBeCritical: true },
  '2.5.29.17': { name: 'subjectAltName', mayBeCritical: true },
  '2.5.29.30': { name: 'nameConstraints', mayBeCritical: true },
  '2.5.29.32': { name: 'certificatePolicies', mayBeCritical: true },
  '2.5.29.33': { name: 'policyMappings', mayBeCritical: true },
  '2.5.29.36': { name: 'policyConstraints', mayBeCritical: true },
  '2.5.29.54': { name: 'inhibitAnyPolicy', mayBeCritical: true },
  '2.5.29.31': { name: 'cRLDistributionPoints', mayBeCritical: true },
  '2.16.840.1.113730.1.1': { name: 'netscapeCertType', mayBeCritical: true },
  '1.3.6.1.5.5.7.1.7': { name: 'ipAddrBlocks (RFC 3779)', mayBeCritical: true },
  '1.3.6.1.5.5.7.1.8': { name: 'autonomousSysIds (RFC 3779)', mayBeCritical: true },
  '1.3.6.1.5.5.7.48.1.5': { name: 'ocspNoCheck', mayBeCritical: true },
  '2.5.29.14': { name: 'subjectKeyIdentifier', mayBeCritical: false },
  '2.5.29.35': { name: 'authorityKeyIdentifier', mayBeCritical: false },
  '2.5.29.18': { name: 'issuerAltName', mayBeCritical: false },
  '2.5.29.46': { name: 'freshestCRL', mayBeCritical: false },
  '2.5.29.9': { name: 'subjectDirectoryAttributes', mayBeCritical: false },
  '1.3.6.1.5.5.7.1.1': { name: 'authorityInfoAccess', mayBeCritical: false },
  '1.3.6.1.5.5.7.1.24': { name: 'tlsFeature', mayBeCritical: false },
  '1.3.6.1.4.1.11129.2.4.2': { name: 'signedCertificateTimestampList', mayBeCritical: false },
  // OpenSSL handles it, but refuses proxy certificates in a TLS server chain: critical or not, never accepted there.
  '1.3.6.1.5.5.7.1.14': { name: 'proxyCertInfo', mayBeCritical: false },
};

/** Applies to every served certificate: OpenSSL-based clients refuse a chain with a critical extension they do not handle. */
export function checkCriticalExtensions(cert: ParsedCertificate): Finding[] {
  return cert.details.extensions
    .filter((ext) => ext.critical && KNOWN_EXTENSIONS[ext.oid]?.mayBeCritical !== true)
    .map((ext) => {
      const known = KNOWN_EXTENSIONS[ext.oid];
      const what = known ? `a critical ${known.name} extension, which TLS clients built on OpenSSL refuse as critical` : `a critical extension that TLS clients do not understand (OID ${ext.oid})`;
      const fix = known ? 'have the certificate issued again with that extension non-critical' : 'have the certificate issued again without it';
      return finding('unknown-critical-extension', `${cert.label} has ${what}; ${fix}`, cert.block);
    });
}
