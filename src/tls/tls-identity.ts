import { X509Certificate, createPrivateKey } from 'node:crypto';
import tls from 'node:tls';
import { fingerprintSha256 } from '../validation/describe-certificate.js';
import { tlsProfileOptions, type TlsProfile } from './tls-profile.js';

/** What a listener needs to serve one certificate. Lives only in memory, never logged. */
export interface TlsIdentity {
  fingerprint: string;
  keyPem: string;
  certPem: string;
  chainPems: string[];
}

export function contextOptions(identity: Pick<TlsIdentity, 'keyPem' | 'certPem' | 'chainPems'>, profile: TlsProfile = 'intermediate'): tls.SecureContextOptions {
  return { ...tlsProfileOptions(profile), key: identity.keyPem, cert: [identity.certPem, ...identity.chainPems].join('\n') };
}

/**
 * Boot-time check that a stored version can still be served: parses, key matches, OpenSSL loads it.
 * Deliberately ignores validity dates: an expired certificate is still the operator's identity.
 * Returns the reason it cannot be used, or null.
 */
export function identityProblem(identity: Pick<TlsIdentity, 'keyPem' | 'certPem' | 'chainPems' | 'fingerprint'>): string | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(identity.certPem);
    for (const pem of identity.chainPems) new X509Certificate(pem);
  } catch {
    return 'the stored certificate cannot be parsed';
  }
  if (fingerprintSha256(cert) !== identity.fingerprint) {
    return 'the stored certificate does not match its recorded fingerprint';
  }
  try {
    const key = createPrivateKey(identity.keyPem);
    if (!cert.checkPrivateKey(key)) return 'the stored private key does not match the certificate';
  } catch {
    return 'the stored private key cannot be parsed';
  }
  try {
    tls.createSecureContext(contextOptions(identity));
  } catch {
    return 'OpenSSL refuses the stored key and certificate';
  }
  return null;
}
