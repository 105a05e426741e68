import 'reflect-metadata';
import { X509Certificate, generateKeyPair, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type BenchKeyKind = 'ec' | 'rsa';

/** One uploadable bundle (key, leaf, one intermediate; root dropped) and what a client sees of it. */
export interface BenchBundle {
  kind: BenchKeyKind;
  pem: string;
  keyPem: string;
  certPem: string;
  chainPems: string[];
  /** As Node's getPeerCertificate().fingerprint256 prints it (upper-case hex with colons). */
  fingerprint256: string;
}

interface Signer {
  name: string;
  key: { privateKey: KeyObject; spki: Uint8Array<ArrayBuffer>; signingKey: CryptoKey; pkcs8Pem: string };
}

const generate = promisify(generateKeyPair) as unknown as (type: string, options: object) => Promise<{ privateKey: KeyObject; publicKey: KeyObject }>;
const DAY = 24 * 60 * 60 * 1000;

function algorithms(kind: BenchKeyKind) {
  return kind === 'ec'
    ? { type: 'ec', options: { namedCurve: 'P-256' }, importAs: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } }
    : { type: 'rsa', options: { modulusLength: 2048 }, importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } };
}

async function newKey(kind: BenchKeyKind): Promise<Signer['key']> {
  const { type, options, importAs } = algorithms(kind);
  const { privateKey, publicKey } = await generate(type, options);
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const signingKey = (await webcrypto.subtle.importKey('pkcs8', der, importAs, false, ['sign'])) as unknown as CryptoKey;
  return { privateKey, signingKey, spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })) as Uint8Array<ArrayBuffer>, pkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return bytes.toString('hex');
}

async function certify(kind: BenchKeyKind, subject: string, key: Signer['key'], issuer: Signer, isCa: boolean): Promise<string> {
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(isCa, undefined, true),
    new x509.KeyUsagesExtension(isCa ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(key.spki),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.key.spki),
  ];
  if (!isCa) {
    extensions.push(new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1'], false));
    extensions.push(new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }], false));
  }
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: issuer.name,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + (isCa ? 3650 : 90) * DAY),
    publicKey: key.spki,
    signingKey: issuer.key.signingKey,
    signingAlgorithm: algorithms(kind).sign,
    extensions,
  });
  return cert.toString('pem');
}

/** A root and an intermediate of one key kind; `leaves(n)` issues n distinct uploadable bundles under them. */
export async function createBenchPki(kind: BenchKeyKind) {
  const tag = randomBytes(4).toString('hex');
  const rootKey = await newKey(kind);
  const root: Signer = { name: `CN=hotcert bench root ${kind} ${tag}`, key: rootKey };
  const caKey = await newKey(kind);
  const caPem = await certify(kind, `CN=hotcert bench intermediate ${kind} ${tag}`, caKey, root, true);
  const intermediate: Signer = { name: `CN=hotcert bench intermediate ${kind} ${tag}`, key: caKey };
  return {
    async leaves(count: number): Promise<BenchBundle[]> {
      const out: BenchBundle[] = [];
      for (let i = 0; i < count; i++) {
        const key = await newKey(kind);
        const certPem = await certify(kind, 'CN=localhost', key, intermediate, false);
        out.push({
          kind,
          pem: [key.pkcs8Pem.trimEnd(), certPem.trimEnd(), caPem.trimEnd()].join('\n') + '\n',
          keyPem: key.pkcs8Pem,
          certPem,
          chainPems: [caPem],
          fingerprint256: new X509Certificate(certPem).fingerprint256,
        });
      }
      return out;
    },
  };
}
