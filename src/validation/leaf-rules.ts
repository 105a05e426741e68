import { finding, type Finding } from './findings.js';
import type { ParsedCertificate } from './parse-certificates.js';

/** SPEC rule 6: what the server certificate itself must allow. */
export const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

export function checkServerCertificate(leaf: ParsedCertificate): { errors: Finding[]; warnings: Finding[] } {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const { details, label, block } = leaf;
  if (details.basicConstraints?.ca === true) {
    const fix = leaf.selfIssued
      ? 'make the self-signed certificate again as a server certificate (`openssl req -x509 ... -addext basicConstraints=critical,CA:FALSE`)'
      : 'have a server (end-entity) certificate issued for this key';
    errors.push(finding('leaf-is-ca', `${label} is the server certificate but is a CA certificate (basicConstraints CA:TRUE); ${fix}`, block));
  }
  const eku = details.extKeyUsage;
  if (eku && !eku.includes(SERVER_AUTH) && !eku.includes(ANY_EXTENDED_KEY_USAGE)) {
    errors.push(finding('leaf-eku', `${label}: its extended key usage does not include TLS server authentication (serverAuth); have a TLS server certificate issued instead`, block));
  }
  const ku = details.keyUsage;
  if (ku) {
    const isRsa = leaf.publicKey.asymmetricKeyType === 'rsa';
    const allowed = ku.includes('digitalSignature') || (isRsa && ku.includes('keyEncipherment'));
    if (!allowed) {
      const needed = isRsa ? 'digitalSignature or keyEncipherment' : 'digitalSignature';
      errors.push(finding('leaf-key-usage', `${label}: its key usage does not allow ${needed}, which TLS needs; have the certificate issued again with that key usage`, block));
    }
  }
  if (details.unsupportedSanForms) {
    warnings.push(finding('unsupported-san', `${label} has subjectAltName entries of a form hotcert does not read (${details.unsupportedSanForms.join(', ')}); they are served as they are and TLS clients ignore them, nothing to fix`, block));
  }
  if (!details.sans || details.sans.length === 0) {
    warnings.push(finding('no-san', `${label} has no subjectAltName, so browsers will refuse it; have it issued again with the server's DNS names as subjectAltName entries`, block));
  }
  return { errors, warnings };
}
