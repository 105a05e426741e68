import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import os from 'node:os';
import { x509Library } from './x509-library.js';

export interface SelfSigned {
  keyPem: string;
  certPem: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * The built-in identity (SPEC §2): EC P-256, SAN localhost, the host name, 127.0.0.1, ::1, one year.
 * WebCrypto does the key generation and signing on libuv's thread pool, off the event loop.
 */
export async function createSelfSigned(now: number, hostname = os.hostname()): Promise<SelfSigned> {
  const x509 = await x509Library();
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const names = [...new Set(['localhost', hostname].filter((name) => /^[A-Za-z0-9.-]+$/.test(name)))];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01' + randomBytes(15).toString('hex'),
    name: `CN=${names.includes(hostname) ? hostname : 'localhost'}, O=hotcert self-signed`,
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter: new Date(now + 365 * 24 * 60 * 60 * 1000),
    keys: keys as unknown as CryptoKeyPair,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.map((value) => ({ type: 'dns' as const, value })),
        { type: 'ip' as const, value: '127.0.0.1' },
        { type: 'ip' as const, value: '::1' },
      ]),
    ],
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { keyPem, certPem: cert.toString('pem') + '\n' };
}
