import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { children, decodeOid, readElement, tbsFields } from './der.js';
import { finding, type Finding } from './findings.js';
import { ENCRYPTED_KEY_LABEL, KEY_LABELS, type PemBlock } from './pem-splitter.js';

/** SPEC rule 2 (exactly one unencrypted private key) and rule 7 (which keys are acceptable). */
export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 8192;
const CURVES: Record<string, string> = { prime256v1: 'P256', secp384r1: 'P384', secp521r1: 'P521' };

export const DECRYPT_HINT = 'decrypt it with `openssl pkey -in key.pem -out key-decrypted.pem` and upload the decrypted key';

export interface PrivateKeyResult {
  /** The key, or undefined when it is missing, encrypted or unreadable (errors say why); set even when too weak, to find the leaf. */
  key?: KeyObject;
  /** The block the key came from. */
  block?: number;
  /** Unencrypted PKCS#8 PEM; only when the key is acceptable. */
  keyPem?: string;
  errors: Finding[];
  warnings: Finding[];
}

export function isKeyBlock(block: PemBlock): boolean {
  return block.label === ENCRYPTED_KEY_LABEL || (KEY_LABELS as readonly string[]).includes(block.label);
}

export function readPrivateKey(blocks: PemBlock[]): PrivateKeyResult {
  const keyBlocks = blocks.filter(isKeyBlock);
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  if (keyBlocks.length === 0) {
    errors.push(finding('key-missing', 'the upload has no private key; add the unencrypted PRIVATE KEY block of the server certificate before the certificates (for a key hotcert generated with POST /v1/certificates/external/csr, upload the certificate issued for that CSR while the request is still pending: GET /v1/certificates/external/csr lists them)'));
    return { errors, warnings };
  }
  if (keyBlocks.length > 1) {
    const list = keyBlocks.map((b) => `block ${b.index}`).join(', ');
    errors.push(finding('key-count', `the upload has ${keyBlocks.length} private keys (${list}); keep only the key of the server certificate`, keyBlocks[1]!.index));
    return { errors, warnings };
  }
  const block = keyBlocks[0]!;
  const result: PrivateKeyResult = { block: block.index, errors, warnings };
  if (block.label === ENCRYPTED_KEY_LABEL || block.headers.some((h) => /ENCRYPTED/i.test(h))) {
    errors.push(finding('key-encrypted', `block ${block.index} is an encrypted private key, which the server cannot use without its passphrase; ${DECRYPT_HINT}`, block.index));
    return result;
  }
  let key: KeyObject;
  try {
    const type = block.label === 'RSA PRIVATE KEY' ? 'pkcs1' : block.label === 'EC PRIVATE KEY' ? 'sec1' : 'pkcs8';
    key = createPrivateKey({ key: block.der, format: 'der', type });
  } catch {
    errors.push(finding('key-invalid', `block ${block.index} is not a readable private key; export the key again with \`openssl pkey -in key.pem -out key-clean.pem\``, block.index));
    return result;
  }
  result.key = key;
  const strength = checkKeyStrength(key, `block ${block.index} (the private key)`, block.index);
  if (strength.error) errors.push(strength.error);
  if (strength.warning) warnings.push(strength.warning);
  if (strength.error) return result;
  result.keyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  if (block.label !== 'PRIVATE KEY') {
    warnings.push(finding('normalised-key', `block ${block.index} (${block.label}) was converted to PKCS#8 (it is stored encrypted); nothing to fix`, block.index));
  }
  return result;
}

/** A key hotcert generated itself (a pending CSR key): trusted, already PKCS#8, but read like any other. */
export function readGeneratedKey(keyPem: string): PrivateKeyResult {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    errors.push(finding('key-invalid', 'the key hotcert generated for this CSR cannot be read; request a new CSR'));
    return { errors, warnings };
  }
  const result: PrivateKeyResult = { key, errors, warnings };
  const strength = checkKeyStrength(key, 'the key hotcert generated for this CSR');
  if (strength.error) errors.push(strength.error);
  else result.keyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  return result;
}

/** Names a key as in the API ("RSA-2048", "EC-P256", "Ed25519"). */
export function keyTypeName(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return `RSA-${details.modulusLength ?? 0}`;
    case 'rsa-pss':
      return `RSA-PSS-${details.modulusLength ?? 0}`;
    case 'ec': {
      const curve = details.namedCurve;
      return curve === undefined ? 'EC-explicit' : `EC-${CURVES[curve] ?? curve}`;
    }
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      return (key.asymmetricKeyType ?? 'unknown').toUpperCase();
  }
}

const EXPLICIT_CURVE_FIX = 'convert the key with `openssl ec -in key.pem -param_enc named_curve -out key-named.pem`, make a new CSR with it and have the certificate issued again';

/**
 * OpenSSL 3 reports a P-256 key given by explicit parameters as prime256v1, so ask the encoding itself:
 * the parameters of id-ecPublicKey are a SEQUENCE (ECParameters) instead of a curve OID.
 */
function hasExplicitCurve(key: KeyObject): boolean {
  const spki = (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
  const outer = readElement(spki, 0);
  const algorithm = outer && readElement(spki, outer.start, outer.end);
  const parameters = algorithm ? children(spki, algorithm, 2)[1] : undefined;
  return parameters?.tag === 0x30;
}

export const KEY_FIX = 'create a new RSA (2048 to 8192 bits), EC P-256/P-384/P-521 or Ed25519 key and have the certificate issued again';

/** Public key algorithms node:crypto cannot load (or not in every form), by OID, to name them in messages. */
const KEY_ALGORITHM_NAMES: Record<string, string> = {
  '1.2.643.2.2.19': 'GOST R 34.10-2001',
  '1.2.643.7.1.1.1.1': 'GOST R 34.10-2012 (256-bit)',
  '1.2.643.7.1.1.1.2': 'GOST R 34.10-2012 (512-bit)',
  '1.2.156.10197.1.301': 'SM2',
  '1.2.840.10040.4.1': 'DSA (parameters inherited from the issuer)',
  '1.2.840.10045.2.1': 'EC on a curve node does not know',
  '1.2.840.10046.2.1': 'Diffie-Hellman (X9.42)',
  '1.2.840.113549.1.3.1': 'Diffie-Hellman (PKCS#3)',
  '1.3.132.1.12': 'ECDH-only EC',
};

/** Key types node:crypto always loads when well-formed: a load failure means a damaged key, not an unsupported one. */
const LOADABLE_KEY_ALGORITHMS = new Set(['1.2.840.113549.1.1.1', '1.2.840.113549.1.1.10', '1.3.101.110', '1.3.101.111', '1.3.101.112', '1.3.101.113']);

/** Curves node:crypto loads (P-256, P-384, P-521, secp256k1): a key on one of them that fails to load is damaged. */
const LOADABLE_CURVES = new Set(['1.2.840.10045.3.1.7', '1.3.132.0.34', '1.3.132.0.35', '1.3.132.0.10']);

/** The subjectPublicKeyInfo algorithm OID of a DER certificate, and its parameters when they are an OID (a named curve). */
function publicKeyAlgorithm(certificateDer: Buffer): { oid?: string | undefined; parameter?: string | undefined } {
  const spki = tbsFields(certificateDer)[5];
  const algorithm = spki && readElement(certificateDer, spki.start, spki.end);
  const [oid, parameter] = algorithm ? children(certificateDer, algorithm, 2) : [];
  const text = (element: typeof oid) => (element ? decodeOid(certificateDer, element) : undefined);
  return { oid: text(oid), parameter: text(parameter) };
}

/** "GOST R 34.10-2012 (256-bit), OID 1.2.643.7.1.1.1.1"; undefined when node reads that kind of key (so this one is damaged). */
export function unsupportedKeyAlgorithmName(certificateDer: Buffer): string | undefined {
  const { oid, parameter } = publicKeyAlgorithm(certificateDer);
  if (oid === undefined || LOADABLE_KEY_ALGORITHMS.has(oid)) return undefined;
  if (oid === '1.2.840.10045.2.1' && parameter !== undefined && LOADABLE_CURVES.has(parameter)) return undefined;
  const name = KEY_ALGORITHM_NAMES[oid];
  return name ? `${name}, OID ${oid}` : `OID ${oid}`;
}

/** Rule 7 for one key (private key or a certificate's public key); `who` names it in the message. */
export function checkKeyStrength(key: KeyObject, who: string, block?: number): { error?: Finding; warning?: Finding } {
  const fix = KEY_FIX;
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) return { error: finding('weak-key', `${who} is a ${bits}-bit RSA key, weaker than the ${MIN_RSA_BITS} bits required; ${fix}`, block) };
    if (bits > MAX_RSA_BITS) return { error: finding('unsupported-key', `${who} is a ${bits}-bit RSA key, larger than the ${MAX_RSA_BITS} bits supported; ${fix}`, block) };
    return {};
  }
  if (type === 'ec') {
    if (hasExplicitCurve(key)) {
      return { error: finding('ec-explicit-parameters', `${who} is an EC key with explicit curve parameters instead of a named curve, which OpenSSL 3 and Go refuse; ${EXPLICIT_CURVE_FIX}`, block) };
    }
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== undefined && curve in CURVES) return {};
    const what = curve === undefined ? 'an EC key with explicit curve parameters' : `an EC key on an unsupported curve (${curve.replace(/[^A-Za-z0-9-]/g, '').slice(0, 20)})`;
    return { error: finding('unsupported-key', `${who} is ${what}; ${fix}`, block) };
  }
  if (type === 'ed25519') {
    return { warning: finding('ed25519', `${who} is an Ed25519 key, which many clients (most browsers included) cannot use yet; consider an EC P-256 certificate instead`, block) };
  }
  return { error: finding('unsupported-key', `${who} is a key of type ${keyTypeName(key).replace(/[^A-Za-z0-9-]/g, '').slice(0, 20)}, which is not supported; ${fix}`, block) };
}
