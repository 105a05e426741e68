import { createRequire } from 'node:module';
import type Forge from 'node-forge';
import { finding, type Finding } from './findings.js';
import { CERTIFICATE_LABEL, encodePem, MAX_INPUT_BYTES } from './pem-splitter.js';

export const PKCS12_PASSWORD_HEADER = 'X-Pkcs12-Password';
/** Real exports use 2,048 (OpenSSL) to 600,000 (PBKDF2 at today's advice); more only makes the worker spin. */
export const MAX_ITERATIONS = 1_000_000;

export type Pkcs12Conversion = { ok: true; pem: string; warnings: Finding[] } | { ok: false; errors: Finding[]; warnings: Finding[] };

let forgeLibrary: typeof Forge | undefined;
/** node-forge, loaded on the first PKCS#12 upload: ~12 MB per thread that PEM uploads never need. */
const forgeOnce = (): typeof Forge => (forgeLibrary ??= createRequire(import.meta.url)('node-forge') as typeof Forge);

const notPfx = () =>
  finding('pkcs12-invalid', 'the upload is not a readable PKCS#12 (PFX) file; export it again (Windows: certificate export with the private key, or `openssl pkcs12 -export -inkey key.pem -in cert.pem -certfile chain.pem -out bundle.pfx`), or upload PEM text with Content-Type: text/plain');

const fail = (error: Finding): Pkcs12Conversion => ({ ok: false, errors: [error], warnings: [] });

/**
 * Opens a PKCS#12 file (modern AES/PBKDF2 as OpenSSL 3 writes it, and the legacy RC2/3DES of Windows and
 * OpenSSL 1) and writes its key and certificates as one PEM bundle, which is then validated like any upload.
 * CPU work (key derivation): it runs in the validation worker. Never throws, never quotes the input.
 */
export function pkcs12ToPem(der: Uint8Array, password: string): Pkcs12Conversion {
  const forge = forgeOnce();
  if (der.byteLength === 0) return fail(notPfx());
  if (der.byteLength > MAX_INPUT_BYTES) {
    return fail(finding('pem-too-large', `the upload is larger than ${MAX_INPUT_BYTES} bytes; a PKCS#12 file with one key and its chain is a few kilobytes`));
  }
  let asn1: Forge.asn1.Asn1;
  try {
    asn1 = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('binary')), true);
  } catch {
    return fail(notPfx());
  }
  const iterations = largestIterationCount(asn1);
  if (iterations > MAX_ITERATIONS) {
    return fail(finding('pkcs12-iterations', `the PKCS#12 file asks for ${iterations} key-derivation iterations, more than the ${MAX_ITERATIONS} hotcert allows (exports use 2,048 to 600,000); export it again with the defaults`));
  }
  let pfx: Forge.pkcs12.Pkcs12Pfx;
  try {
    pfx = openKeepingBytes(asn1, password);
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (/PFX|PKCS#12 AuthenticatedSafe|ContentInfo|PKCS#12 version/i.test(message) && !/MAC|decrypt|password/i.test(message)) return fail(notPfx());
    if (/unsupported/i.test(message)) {
      return fail(finding('pkcs12-unsupported', 'the PKCS#12 file uses an encryption or MAC algorithm hotcert cannot read; export it again with AES-256 (the default of `openssl pkcs12 -export` in OpenSSL 3, or "AES256-SHA256" in the Windows export wizard)'));
    }
    return fail(
      finding(
        'pkcs12-password',
        `the PKCS#12 file cannot be opened with the password given in the ${PKCS12_PASSWORD_HEADER} header (none sent means an empty password); send the export password, or check that the file is complete`,
      ),
    );
  }
  const keys: Buffer[] = [];
  const certificates: Buffer[] = [];
  const ignored = new Set<string>();
  for (const contents of pfx.safeContents) {
    for (const bag of contents.safeBags) {
      const bytes = bag.asn1 ? Buffer.from(forge.asn1.toDer(bag.asn1).getBytes(), 'binary') : undefined;
      if ((bag.type === forge.pki.oids.keyBag || bag.type === forge.pki.oids.pkcs8ShroudedKeyBag) && bytes) keys.push(bytes);
      else if (bag.type === forge.pki.oids.certBag && bytes) certificates.push(bytes);
      else ignored.add(bag.type);
    }
  }
  if (keys.length === 0 && certificates.length === 0) {
    return fail(finding('pkcs12-empty', 'the PKCS#12 file holds no private key and no certificate; export it again with the private key and the certificate chain'));
  }
  const warnings = [
    finding('normalised-pkcs12', 'converted the PKCS#12 (PFX) file to PEM: block numbers below count its private key first, then its certificates in the order the file holds them; nothing to fix'),
  ];
  if (ignored.size > 0) warnings.push(finding('normalised-pkcs12', 'ignored entries of the PKCS#12 file that are neither a key nor a certificate (such as CRLs or secrets); nothing to fix'));
  const pem = [...keys.map((key) => encodePem('PRIVATE KEY', key)), ...certificates.map((cert) => encodePem(CERTIFICATE_LABEL, cert))].join('');
  return { ok: true, pem, warnings };
}

/**
 * forge turns RSA keys and certificates into its own objects, and writing those back re-encodes them.
 * With its parsers refused, it hands back every bag as the ASN.1 it decrypted (its documented path for
 * types it does not know), so the certificates keep their exact bytes (and fingerprints). Synchronous.
 */
function openKeepingBytes(asn1: Forge.asn1.Asn1, password: string): Forge.pkcs12.Pkcs12Pfx {
  const forge = forgeOnce();
  const pki = forge.pki as { certificateFromAsn1: unknown; privateKeyFromAsn1: unknown };
  const { certificateFromAsn1, privateKeyFromAsn1 } = pki;
  const refuse = () => {
    throw new Error('kept as ASN.1');
  };
  pki.certificateFromAsn1 = refuse;
  pki.privateKeyFromAsn1 = refuse;
  try {
    return forge.pkcs12.pkcs12FromAsn1(asn1, true, password);
  } finally {
    pki.certificateFromAsn1 = certificateFromAsn1;
    pki.privateKeyFromAsn1 = privateKeyFromAsn1;
  }
}

/**
 * The largest iteration count in the parts of the file readable without the password: the MAC (MacData),
 * and the PBE or PBKDF2 parameters of every encrypted bag (a SEQUENCE with a salt OCTET STRING followed by an
 * INTEGER). Checked before any key derivation. Bounded: nested DER is opened to a depth of 4.
 */
function largestIterationCount(root: Forge.asn1.Asn1): number {
  const forge = forgeOnce();
  let largest = 0;
  const walk = (node: Forge.asn1.Asn1, depth: number): void => {
    if (!Array.isArray(node.value)) {
      const bytes = node.value;
      if (isUniversal(node, forge.asn1.Type.OCTETSTRING) && depth < 4 && bytes.length > 2 && bytes.charCodeAt(0) === 0x30) {
        try {
          walk(forge.asn1.fromDer(bytes, true), depth + 1);
        } catch {
          // ciphertext, not DER
        }
      }
      return;
    }
    const children = node.value;
    children.forEach((child, index) => {
      const previous = children[index - 1];
      if (isUniversal(child, forge.asn1.Type.INTEGER) && previous && isUniversal(previous, forge.asn1.Type.OCTETSTRING) && typeof child.value === 'string') {
        largest = Math.max(largest, integerValue(child.value));
      }
      walk(child, depth);
    });
  };
  walk(root, 0);
  return largest;
}

const isUniversal = (node: Forge.asn1.Asn1, type: number) => node.tagClass === forgeOnce().asn1.Class.UNIVERSAL && node.type === type;

/** An unsigned INTEGER's value; anything longer than 6 bytes counts as huge. */
function integerValue(bytes: string): number {
  if (bytes.length > 6) return Number.MAX_SAFE_INTEGER;
  let value = 0;
  for (let i = 0; i < bytes.length; i += 1) value = value * 256 + bytes.charCodeAt(i);
  return value;
}
