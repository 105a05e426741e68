import 'reflect-metadata';
/**
 * Test PKI, generated in-process: roots, intermediates and leaves with any key type, validity, extension or
 * signature hash, for unit, integration, hostile-upload and benchmark tests. No fixtures on disk.
 *
 *   const { bundle, leaf, intermediates, root } = await createChain();          // EC P-256, 1 intermediate
 *   const rsa = await createChain({ keyKind: 'rsa2048', intermediates: 2 });
 *   const root = await createRoot(); const ca = await issue(root, { isCa: true });
 *   const leaf = await issue(ca, { sans: ['example.test'], notAfter: new Date(Date.now() - 1000) });
 *   pemBundle(leaf.keyPem, leaf.certPem, ca.certPem)                          // one bundle string
 *
 * Keys are cached: RSA keys come from a small per-kind pool (generation is slow), EC and Ed keys are fresh.
 * Certificates are always new (random serial, so distinct fingerprints). Default subjects carry a unique
 * number, so certificates from different chains never chain into each other by accident.
 */
import {
  generateKeyPair,
  createPrivateKey,
  randomBytes,
  sign,
  webcrypto,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate } from '@peculiar/asn1-x509';

import * as x509 from '@peculiar/x509';
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** Key types; the first five are the supported ones, the rest exist to test refusals (secp256k1 cannot sign certificates here). */
export type KeyKind = 'rsa2048' | 'rsa3072' | 'ec256' | 'ec384' | 'ed25519' | 'rsa1024' | 'rsa4096' | 'ec521' | 'ed448' | 'secp256k1';

export type SignatureHash = 'SHA-256' | 'SHA-384' | 'SHA-512' | 'SHA-1' | 'MD5';

export interface TestKey {
  kind: KeyKind;
  privateKey: KeyObject;
  /** Unencrypted PKCS#8 PEM. */
  pkcs8Pem: string;
  /** SubjectPublicKeyInfo DER. */
  spki: Buffer;
  /** WebCrypto signing key; undefined for kinds WebCrypto cannot sign with. */
  signingKey?: CryptoKey;
}

export interface IssuedCert {
  certPem: string;
  /** The certificate's private key, unencrypted PKCS#8 PEM. */
  keyPem: string;
  cert: X509Certificate;
  key: TestKey;
}

export interface ExtraExtension {
  oid: string;
  critical?: boolean;
  /** DER of the extension value; default ASN.1 NULL. */
  value?: Uint8Array;
}

export interface CertOptions {
  /** Default 'ec256'. Ignored when `key` is given. */
  keyKind?: KeyKind;
  /** Reuse a specific key (e.g. to make two certificates share one). */
  key?: TestKey;
  /** Distinguished name in DER order, most significant first ("C=US, O=Org, CN=x"; API summaries show it reversed, RFC 4514 style); defaults: "CN=hotcert test root N", "CN=hotcert test intermediate N", "CN=localhost". */
  subject?: string;
  /** Leaf default ['localhost', '127.0.0.1']; CA default none; [] for no subjectAltName at all. IPs are detected. */
  sans?: string[];
  /** Default now - 1 h. */
  notBefore?: Date;
  /** Default now + 90 days (leaf) or + 10 years (CA). */
  notAfter?: Date;
  /** createRoot default true, issue default false. Sets basicConstraints CA:TRUE (critical). */
  isCa?: boolean;
  /** basicConstraints pathLenConstraint, CA only. */
  pathLen?: number;
  /** Key usage names (digitalSignature, keyEncipherment, keyCertSign, cRLSign, ...); [] for no extension. Defaults: CA keyCertSign+cRLSign, leaf digitalSignature. */
  keyUsage?: string[];
  /** 'serverAuth', 'clientAuth', 'codeSigning', 'emailProtection' or OIDs; [] for no extension. Leaf default ['serverAuth'], CA none. */
  extKeyUsage?: string[];
  extraExtensions?: ExtraExtension[];
  /** Default 'SHA-256'. SHA-1 and MD5 are produced by re-signing with node:crypto (WebCrypto has no MD5). */
  signatureHash?: SignatureHash;
  /** OIDs of the built-in extensions (basicConstraints, keyUsage, extKeyUsage, subjectAltName, key identifiers) to mark critical. */
  criticalExtensions?: string[];
  /** Issuer name to write instead of the issuer's subject (e.g. the same name in another case or spacing). */
  issuerName?: string;
  /** Serial number INTEGER content octets in hex, written as is (e.g. '00' for zero, 'ff' for -1); default a random positive serial. */
  rawSerial?: string;
}

export interface TestChain {
  root: IssuedCert;
  /** Leaf upwards. */
  intermediates: IssuedCert[];
  leaf: IssuedCert;
  /** Key, leaf, intermediates (documented order), '\n'-joined, ending in '\n'; no root. */
  bundle: string;
}

export interface ChainOptions {
  /** Key kind of every certificate in the chain; default 'ec256'. */
  keyKind?: KeyKind;
  /** Number of intermediates; default 1. */
  intermediates?: number;
  /** Options for the leaf (override the defaults). */
  leaf?: CertOptions;
  /** Options for each intermediate. */
  intermediate?: CertOptions;
  root?: CertOptions;
  /** Shorthand for leaf.sans. */
  sans?: string[];
}

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const RSA_POOL_SIZE = 8;
const rsaPools = new Map<KeyKind, Promise<TestKey>[]>();
const rsaNext = new Map<KeyKind, number>();
let counter = 0;

const generate = promisify(generateKeyPair) as unknown as (type: string, options: object) => Promise<{ privateKey: KeyObject; publicKey: KeyObject }>;

async function generateKey(kind: KeyKind): Promise<TestKey> {
  const { type, options, algorithm } = keyParameters(kind);
  const { privateKey, publicKey } = await generate(type, options);
  const pkcs8Der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const signingKey = algorithm
    ? await webcrypto.subtle.importKey('pkcs8', pkcs8Der, algorithm, false, ['sign'])
    : undefined;
  return {
    kind,
    privateKey,
    pkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    spki: publicKey.export({ type: 'spki', format: 'der' }),
    ...(signingKey ? { signingKey: signingKey as unknown as CryptoKey } : {}),
  };
}

function keyParameters(kind: KeyKind): { type: string; options: object; algorithm?: RsaHashedImportParams | EcKeyImportParams | Algorithm } {
  switch (kind) {
    case 'rsa1024':
    case 'rsa2048':
    case 'rsa3072':
    case 'rsa4096':
      return { type: 'rsa', options: { modulusLength: Number(kind.slice(3)) }, algorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } };
    case 'ec256':
    case 'ec384':
    case 'ec521': {
      const namedCurve = `P-${kind.slice(2)}`;
      return { type: 'ec', options: { namedCurve }, algorithm: { name: 'ECDSA', namedCurve } };
    }
    case 'ed25519':
      return { type: 'ed25519', options: {}, algorithm: { name: 'Ed25519' } };
    case 'ed448':
      return { type: 'ed448', options: {}, algorithm: { name: 'Ed448' } };
    case 'secp256k1':
      return { type: 'ec', options: { namedCurve: 'secp256k1' } };
  }
}

/** A new key of this kind, never from the RSA pool (for callers that need many distinct keys, such as the benchmark). */
export function freshKey(kind: KeyKind = 'ec256'): Promise<TestKey> {
  return generateKey(kind);
}

/** A key of this kind: RSA from a round-robin pool of 8 per kind (distinct within one chain), others fresh. */
export function getKey(kind: KeyKind = 'ec256'): Promise<TestKey> {
  if (!kind.startsWith('rsa')) return generateKey(kind);
  const pool = rsaPools.get(kind) ?? [];
  rsaPools.set(kind, pool);
  const index = rsaNext.get(kind) ?? 0;
  rsaNext.set(kind, (index + 1) % RSA_POOL_SIZE);
  let key = pool[index];
  if (!key) {
    key = generateKey(kind);
    pool[index] = key;
  }
  return key;
}

/** A self-signed CA certificate (isCa defaults to true). */
export async function createRoot(opts: CertOptions = {}): Promise<IssuedCert> {
  const key = opts.key ?? (await getKey(opts.keyKind ?? 'ec256'));
  const subject = opts.subject ?? `CN=hotcert test root ${++counter}`;
  return build({ ...opts, isCa: opts.isCa ?? true }, key, subject, { subject, key });
}

/** A certificate signed by `issuer`: a CA when opts.isCa, else a TLS server leaf. */
export async function issue(issuer: IssuedCert, opts: CertOptions = {}): Promise<IssuedCert> {
  const key = opts.key ?? (await getKey(opts.keyKind ?? 'ec256'));
  const isCa = opts.isCa ?? false;
  const subject = opts.subject ?? (isCa ? `CN=hotcert test intermediate ${++counter}` : 'CN=localhost');
  return build({ ...opts, isCa }, key, subject, { subject: opts.issuerName ?? new x509.X509Certificate(issuer.cert.raw).subjectName, key: issuer.key });
}

/** Root, `intermediates` CAs and a leaf, all of one key kind; bundle = key + leaf + intermediates. */
export async function createChain(opts: ChainOptions = {}): Promise<TestChain> {
  const keyKind = opts.keyKind ?? 'ec256';
  const root = await createRoot({ keyKind, ...opts.root });
  const above: IssuedCert[] = [];
  let issuer = root;
  for (let i = 0; i < (opts.intermediates ?? 1); i += 1) {
    issuer = await issue(issuer, { keyKind, ...opts.intermediate, isCa: true });
    above.push(issuer);
  }
  const leaf = await issue(issuer, { keyKind, ...(opts.sans ? { sans: opts.sans } : {}), ...opts.leaf });
  const intermediates = above.reverse();
  return { root, intermediates, leaf, bundle: pemBundle(leaf.keyPem, leaf.certPem, ...intermediates.map((c) => c.certPem)) };
}

/** Joins PEM texts with single newlines, ending with one newline (no blank lines, so no normalisation warning). */
export function pemBundle(...pems: string[]): string {
  return `${pems.map((p) => p.trimEnd()).join('\n')}\n`;
}

/** The key as "RSA PRIVATE KEY" (PKCS#1); RSA keys only. */
export function toPkcs1Pem(keyPem: string): string {
  return createPrivateKey(keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
}

/** The key as "EC PRIVATE KEY" (SEC 1); EC keys only. */
export function toSec1Pem(keyPem: string): string {
  return createPrivateKey(keyPem).export({ type: 'sec1', format: 'pem' }).toString();
}

/** 'pkcs8' gives "ENCRYPTED PRIVATE KEY"; 'legacy' gives a PKCS#1/SEC 1 block with "Proc-Type: 4,ENCRYPTED" headers. */
export function encryptKeyPem(keyPem: string, style: 'pkcs8' | 'legacy' = 'pkcs8'): string {
  const key = createPrivateKey(keyPem);
  const type = style === 'pkcs8' ? 'pkcs8' : key.asymmetricKeyType === 'rsa' ? 'pkcs1' : 'sec1';
  return key.export({ type, format: 'pem', cipher: 'aes-256-cbc', passphrase: 'test-passphrase' } as never).toString();
}

const EKU_OIDS: Record<string, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
};

async function build(opts: CertOptions, key: TestKey, subject: string, issuer: { subject: string | InstanceType<typeof x509.Name>; key: TestKey }): Promise<IssuedCert> {
  const signingKey = issuer.key.signingKey;
  if (!signingKey) throw new Error(`pki helper: a ${issuer.key.kind} key cannot sign certificates`);
  const isCa = opts.isCa ?? false;
  const now = Date.now();
  const critical = (oid: string, byDefault: boolean) => byDefault || (opts.criticalExtensions ?? []).includes(oid);
  const extensions: InstanceType<typeof x509.Extension>[] = [
    new x509.BasicConstraintsExtension(isCa, isCa ? opts.pathLen : undefined, true),
  ];
  const keyUsage = opts.keyUsage ?? (isCa ? ['keyCertSign', 'cRLSign'] : ['digitalSignature']);
  if (keyUsage.length > 0) {
    const flags = keyUsage.reduce((sum, name) => sum | keyUsageFlag(name), 0);
    extensions.push(new x509.KeyUsagesExtension(flags, true));
  }
  const eku = opts.extKeyUsage ?? (isCa ? [] : ['serverAuth']);
  if (eku.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(eku.map((u) => EKU_OIDS[u] ?? u), critical('2.5.29.37', false)));
  const sans = opts.sans ?? (isCa ? [] : ['localhost', '127.0.0.1']);
  if (sans.length > 0) {
    // RFC 5280 4.2.1.6: with an empty subject the subjectAltName is critical (as Let's Encrypt issues it).
    extensions.push(new x509.SubjectAlternativeNameExtension(sans.map((value) => ({ type: isIp(value) ? ('ip' as const) : ('dns' as const), value })), critical('2.5.29.17', subject === '')));
  }
  const spki = new Uint8Array(key.spki);
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(spki, critical('2.5.29.14', false)));
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(new Uint8Array(issuer.key.spki), critical('2.5.29.35', false)));
  for (const extra of opts.extraExtensions ?? []) {
    extensions.push(new x509.Extension(extra.oid, extra.critical ?? false, new Uint8Array(extra.value ?? [0x05, 0x00])));
  }
  const generated = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: issuer.subject,
    notBefore: opts.notBefore ?? new Date(now - HOUR),
    notAfter: opts.notAfter ?? new Date(now + (isCa ? 3650 : 90) * DAY),
    publicKey: spki,
    signingKey,
    signingAlgorithm: signingAlgorithm(issuer.key.kind),
    extensions,
  });
  let der: Buffer = Buffer.from(generated.rawData);
  const hash = opts.signatureHash ?? 'SHA-256';
  if (hash !== 'SHA-256' || opts.rawSerial !== undefined) der = resign(der, issuer.key, hash, opts.rawSerial);
  const cert = new X509Certificate(der);
  return { certPem: cert.toString(), keyPem: key.pkcs8Pem, cert, key };
}

function signingAlgorithm(kind: KeyKind): Algorithm | EcdsaParams | RsaHashedKeyAlgorithm {
  if (kind.startsWith('rsa')) return { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } } as RsaHashedKeyAlgorithm;
  if (kind.startsWith('ec')) return { name: 'ECDSA', hash: 'SHA-256' };
  return { name: kind === 'ed448' ? 'Ed448' : 'Ed25519' };
}

const SIGNATURE_OIDS: Record<'rsa' | 'ec', Partial<Record<SignatureHash, string>>> = {
  rsa: {
    'SHA-256': '1.2.840.113549.1.1.11',
    MD5: '1.2.840.113549.1.1.4',
    'SHA-1': '1.2.840.113549.1.1.5',
    'SHA-384': '1.2.840.113549.1.1.12',
    'SHA-512': '1.2.840.113549.1.1.13',
  },
  ec: { 'SHA-1': '1.2.840.10045.4.1', 'SHA-256': '1.2.840.10045.4.3.2', 'SHA-384': '1.2.840.10045.4.3.3', 'SHA-512': '1.2.840.10045.4.3.4' },
};

/** Replaces the signature with one made by node:crypto using `hash` (WebCrypto cannot do MD5), and the serial when `rawSerial` is given. */
function resign(der: Buffer, issuerKey: TestKey, hash: SignatureHash, rawSerial?: string): Buffer {
  const family = issuerKey.kind.startsWith('rsa') ? 'rsa' : issuerKey.kind.startsWith('ec') ? 'ec' : undefined;
  const oid = family ? SIGNATURE_OIDS[family][hash] : undefined;
  if (!family || !oid) throw new Error(`pki helper: cannot sign with ${hash} using a ${issuerKey.kind} key`);
  const asn = AsnConvert.parse(der, Certificate);
  const algorithm = new AlgorithmIdentifier({ algorithm: oid, ...(family === 'rsa' ? { parameters: null } : {}) });
  asn.tbsCertificate.signature = algorithm;
  if (rawSerial !== undefined) asn.tbsCertificate.serialNumber = new Uint8Array(Buffer.from(rawSerial, 'hex')).buffer;
  asn.signatureAlgorithm = algorithm;
  const tbs = Buffer.from(AsnConvert.serialize(asn.tbsCertificate));
  const signature = sign(hash.replace('-', '').toLowerCase(), tbs, issuerKey.privateKey);
  asn.signatureValue = signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength) as ArrayBuffer;
  return Buffer.from(AsnConvert.serialize(asn));
}

function keyUsageFlag(name: string): number {
  const flag = (x509.KeyUsageFlags as unknown as Record<string, number>)[name === 'crlSign' ? 'cRLSign' : name];
  if (flag === undefined) throw new Error(`pki helper: unknown key usage ${name}`);
  return flag;
}

function isIp(value: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(value) || value.includes(':');
}

/** Positive 16-byte serial. */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return bytes.toString('hex');
}

/** node's `AA:BB:…` fingerprint as hotcert reports it (`aabb…`). */
export function hexFingerprint(fingerprint256: string): string {
  return fingerprint256.replaceAll(':', '').toLowerCase();
}

/** The SHA-256 fingerprint of a chain's leaf, as hotcert and peerCertificate report it. */
export function leafFingerprint(chain: TestChain): string {
  return hexFingerprint(chain.leaf.cert.fingerprint256);
}
