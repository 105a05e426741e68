import { readFileSync } from 'node:fs';
import { sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateBundle } from '../../src/validation/validate-bundle.js';
import { bearer, peerCertificate } from '../helpers/https-client.js';
import {
  createChain,
  createRoot,
  encryptKeyPem,
  getKey,
  issue,
  pemBundle,
  toPkcs1Pem,
  type CertOptions,
  type IssuedCert,
  type TestChain,
} from '../helpers/pki.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import {
  bitString,
  children,
  explicit,
  extension,
  extensionsOf,
  integer,
  nested,
  NULL,
  oid,
  readTlv,
  replaceField,
  sequence,
  signCertificate,
  splitCertificate,
  TBS,
  tlv,
  tlvWithLength,
  toPem,
  withExtensions,
} from './asn1.js';

/**
 * Issue 5 item 1: hostile uploads through real HTTPS to one server. Every case must answer with the error
 * envelope and leave the served certificate, the database and the process exactly as they were.
 */
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.now();
const PAST: CertOptions = { notBefore: new Date(NOW - 10 * DAY), notAfter: new Date(NOW - DAY) };
const FUTURE: CertOptions = { notBefore: new Date(NOW + DAY), notAfter: new Date(NOW + 100 * DAY) };
const ECDSA_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

type Category = 'structure' | 'asn1' | 'chain' | 'time' | 'policy' | 'transport';

interface Pki {
  /** EC P-256: root, one intermediate, leaf. */
  base: TestChain;
  /** Two intermediates. */
  tall: TestChain;
  rsa: TestChain;
  other: TestChain;
  /** Shorthands for base. */
  key: string;
  leaf: string;
  inter: string;
  root: string;
  /** The base leaf rebuilt from changed TBS fields, signed by the base intermediate. */
  resignedLeaf(change: (fields: Buffer[]) => Buffer[]): string;
  /** The base intermediate rebuilt, signed by the base root. */
  resignedInter(change: (fields: Buffer[]) => Buffer[]): string;
  extra: Record<string, IssuedCert>;
  chains: Record<string, TestChain>;
}

interface HostileCase {
  category: Category;
  name: string;
  body: (p: Pki) => string | Buffer;
  /** Default 400. */
  status?: number;
  /** Default 1009. */
  code?: number;
  contentType?: string;
  /** Error rules validateBundle must report for this body (at least these); omitted for transport-level refusals. */
  rules?: string[];
}

const b64 = (pem: string) => pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
const replaceBody = (pem: string, body: string) => pem.replace(/(-----BEGIN [^-]+-----\n)[\s\S]*?(\n-----END)/, `$1${body}$2`);
const oneLine = (pem: string) => b64(pem).join('');
const der = (pem: string) => Buffer.from(oneLine(pem), 'base64');
const block = (label: string, body: Buffer | string) => toPem(typeof body === 'string' ? Buffer.from(body) : body, label);
const tinyBlocks = (n: number, label = 'CERTIFICATE') => `-----BEGIN ${label}-----\nMAA=\n-----END ${label}-----\n`.repeat(n);
const withoutEnd = (pem: string) => pem.replace(/-----END [^-]+-----\n?$/, '');
const corruptAt = (pem: string, position: number, replacement: string) => {
  const lines = pem.split('\n');
  const line = lines[2]!;
  lines[2] = line.slice(0, position) + replacement + line.slice(position + 1);
  return lines.join('\n');
};

/** The validity of `fields` with one of its two UTCTime strings rewritten. */
function validityWith(fields: Buffer[], change: (time: string) => string, which: 0 | 1): Buffer {
  const times = children(fields[TBS.validity]!);
  const text = readTlv(times[which]!).content.toString('latin1');
  times[which] = tlv(0x17, Buffer.from(change(text), 'latin1'));
  return sequence(...times);
}

/** A PKCS#10 request for the base leaf's subject and key: a real CSR, as people paste by mistake. */
function certificateRequest(p: Pki): string {
  const fields = splitCertificate(p.base.leaf.cert.raw).tbsFields;
  const info = sequence(integer(Buffer.from([0])), fields[TBS.subject]!, fields[TBS.spki]!, tlv(0xa0));
  const signature = sign('sha256', info, p.base.leaf.key.privateKey);
  return block('CERTIFICATE REQUEST', sequence(info, ECDSA_SHA256, bitString(signature)));
}

const cases: HostileCase[] = [
  // Structural damage (SPEC rule 1).
  { category: 'structure', name: 'truncated DER: leaf base64 cut in half', rules: ['pem-base64'], body: (p) => pemBundle(p.key, replaceBody(p.leaf, oneLine(p.leaf).slice(0, 200)), p.inter) },
  { category: 'structure', name: 'truncated DER: private key cut short', rules: ['pem-base64'], body: (p) => pemBundle(replaceBody(p.key, oneLine(p.key).slice(0, 100)), p.leaf, p.inter) },
  { category: 'structure', name: 'truncated DER with a consistent outer length', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, toPem(sequence(der(p.leaf).subarray(4, 200))), p.inter) },
  { category: 'structure', name: 'damaged base64: "*" inside the leaf', rules: ['pem-base64'], body: (p) => pemBundle(p.key, corruptAt(p.leaf, 10, '*'), p.inter) },
  { category: 'structure', name: 'damaged base64: one character missing from the intermediate', rules: ['pem-base64'], body: (p) => pemBundle(p.key, p.leaf, corruptAt(p.inter, 5, '')) },
  { category: 'structure', name: 'damaged base64: "=" in the middle of the key', rules: ['pem-base64'], body: (p) => pemBundle(corruptAt(p.key, 20, '='), p.leaf, p.inter) },
  { category: 'structure', name: 'damaged base64: non-ASCII letter in the leaf', rules: ['pem-base64'], body: (p) => pemBundle(p.key, corruptAt(p.leaf, 30, 'é'), p.inter) },
  { category: 'structure', name: 'damaged base64: URL-safe alphabet', rules: ['pem-base64'], body: (p) => pemBundle(p.key, replaceBody(p.leaf, `${b64(p.leaf).join('\n').replaceAll('+', '-').replaceAll('/', '_')}-_`), p.inter) },
  { category: 'structure', name: 'missing END line on the last block', rules: ['pem-missing-end'], body: (p) => pemBundle(p.key, p.leaf, withoutEnd(p.inter)) },
  { category: 'structure', name: 'missing END line on the key', rules: ['pem-missing-end'], body: (p) => pemBundle(withoutEnd(p.key), p.leaf, p.inter) },
  { category: 'structure', name: 'END line without a BEGIN line', rules: ['pem-syntax'], body: (p) => pemBundle(p.key, p.leaf, p.inter, '-----END CERTIFICATE-----') },
  { category: 'structure', name: 'mismatched labels', rules: ['pem-label-mismatch'], body: (p) => pemBundle(p.key, p.leaf.replace('END CERTIFICATE', 'END PRIVATE KEY'), p.inter) },
  { category: 'structure', name: 'NUL byte at the start', rules: ['pem-nul'], body: (p) => `\0${p.base.bundle}` },
  { category: 'structure', name: 'NUL byte inside the leaf base64', rules: ['pem-nul'], body: (p) => pemBundle(p.key, corruptAt(p.leaf, 12, '\0'), p.inter) },
  { category: 'structure', name: 'NUL byte in the text between blocks', rules: ['pem-nul'], body: (p) => pemBundle(p.key, 'Bag Attributes\0', p.leaf, p.inter) },
  { category: 'structure', name: 'UTF-16 text (Notepad "Unicode")', rules: ['pem-nul'], body: (p) => Buffer.from(`\ufeff${p.base.bundle}`, 'utf16le') },
  { category: 'structure', name: 'invalid UTF-8 between blocks', rules: ['pem-encoding'], body: (p) => Buffer.concat([Buffer.from(pemBundle(p.key, p.leaf)), Buffer.from([0xc3, 0x28, 0x0a]), Buffer.from(p.inter)]) },
  { category: 'structure', name: 'text between blocks (accepted) with an expired leaf', rules: ['expired'], body: (p) => pemBundle(p.chains.expiredLeaf!.leaf.keyPem, 'Bag Attributes\n    friendlyName: server', p.chains.expiredLeaf!.leaf.certPem, 'subject=CN=intermediate', p.chains.expiredLeaf!.intermediates[0]!.certPem) },
  { category: 'structure', name: 'text between blocks quoting a BEGIN line', rules: ['pem-missing-end'], body: (p) => pemBundle(p.key, 'the next block starts with -----BEGIN CERTIFICATE----- as usual', p.leaf, p.inter) },
  { category: 'structure', name: 'a CERTIFICATE REQUEST block added', rules: ['pem-block-type'], body: (p) => pemBundle(p.base.bundle, certificateRequest(p)) },
  { category: 'structure', name: 'a CERTIFICATE REQUEST instead of the leaf', rules: ['pem-block-type'], body: (p) => pemBundle(p.key, certificateRequest(p), p.inter) },
  { category: 'structure', name: 'a PUBLIC KEY block', rules: ['pem-block-type'], body: (p) => pemBundle(p.base.bundle, block('PUBLIC KEY', p.base.leaf.key.spki)) },
  { category: 'structure', name: 'a PKCS7 block', rules: ['pem-block-type'], body: (p) => pemBundle(p.key, block('PKCS7', sequence(oid('1.2.840.113549.1.7.2'))), p.leaf, p.inter) },
  { category: 'structure', name: 'an X509 CRL block', rules: ['pem-block-type'], body: (p) => pemBundle(p.base.bundle, block('X509 CRL', sequence(NULL))) },
  { category: 'structure', name: 'a TRUSTED CERTIFICATE block', rules: ['pem-block-type'], body: (p) => pemBundle(p.key, p.leaf.replace(/CERTIFICATE/g, 'TRUSTED CERTIFICATE'), p.inter) },
  { category: 'structure', name: 'an OPENSSH PRIVATE KEY block', rules: ['pem-block-type'], body: (p) => pemBundle(block('OPENSSH PRIVATE KEY', sequence(NULL)), p.leaf, p.inter) },
  { category: 'structure', name: 'an unknown label', rules: ['pem-block-type'], body: (p) => pemBundle(p.base.bundle, block('HOTCERT SECRET', sequence(NULL))) },
  { category: 'structure', name: 'a label carrying markup', rules: ['pem-block-type'], body: (p) => pemBundle(p.base.bundle, block('<script>alert(1)</script>', sequence(NULL))) },
  { category: 'structure', name: 'DER instead of PEM: the leaf', rules: ['pem-der'], body: (p) => der(p.leaf) },
  { category: 'structure', name: 'DER instead of PEM: key, leaf and intermediate concatenated', rules: ['pem-der'], body: (p) => Buffer.concat([der(p.key), der(p.leaf), der(p.inter)]) },
  { category: 'structure', name: 'DER followed by a PEM bundle', rules: ['pem-nul'], body: (p) => Buffer.concat([der(p.leaf), Buffer.from(p.base.bundle)]) },
  { category: 'structure', name: 'a 100 KB base64 line that decodes to one DER element', rules: ['certificate-invalid'], body: (p) => pemBundle(p.base.bundle, block('CERTIFICATE', sequence(Buffer.alloc(75_000, 0x41)))) },
  { category: 'structure', name: 'a 100 KB base64 line of "A"', rules: ['pem-base64'], body: (p) => pemBundle(p.key, `-----BEGIN CERTIFICATE-----\n${'A'.repeat(100_000)}\n-----END CERTIFICATE-----`, p.leaf, p.inter) },
  { category: 'structure', name: '10,000 tiny CERTIFICATE blocks', rules: ['pem-too-many-blocks'], body: () => tinyBlocks(10_000) },
  { category: 'structure', name: 'a valid bundle followed by 10,000 tiny blocks of an unknown label', rules: ['pem-too-many-blocks'], body: (p) => p.base.bundle + tinyBlocks(10_000, 'X') },
  { category: 'structure', name: '10,000 BEGIN lines without END lines', rules: ['pem-too-many-blocks'], body: () => '-----BEGIN CERTIFICATE-----\n'.repeat(10_000) },
  { category: 'structure', name: 'legacy encrypted key (Proc-Type: 4,ENCRYPTED)', rules: ['key-encrypted'], body: (p) => pemBundle(encryptKeyPem(p.key, 'legacy'), p.leaf, p.inter) },
  { category: 'structure', name: 'Proc-Type/DEK-Info headers on an unencrypted key', rules: ['key-encrypted'], body: (p) => pemBundle(p.key.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n'), p.leaf, p.inter) },
  { category: 'structure', name: 'Proc-Type header on a certificate', rules: ['pem-headers'], body: (p) => pemBundle(p.key, p.leaf.replace('-----\n', '-----\nProc-Type: 4,MIC-ONLY\n\n'), p.inter) },
  { category: 'structure', name: 'PKCS#8 ENCRYPTED PRIVATE KEY', rules: ['key-encrypted'], body: (p) => pemBundle(encryptKeyPem(p.key), p.leaf, p.inter) },
  { category: 'structure', name: 'whitespace only', rules: ['pem-empty'], body: () => ' \n\t\r\n   \n' },
  { category: 'structure', name: 'prose without any PEM block', rules: ['pem-empty'], body: () => 'here is my certificate, please install it\n' },
  { category: 'structure', name: 'BEGIN line with a label over 80 characters', rules: ['pem-empty'], body: () => block('A'.repeat(100), sequence(NULL)) },
  { category: 'structure', name: 'only the private key', rules: ['certificate-missing'], body: (p) => p.key },
  { category: 'structure', name: 'only certificates', rules: ['key-missing'], body: (p) => pemBundle(p.leaf, p.inter) },
  { category: 'structure', name: 'the private key twice', rules: ['key-count'], body: (p) => pemBundle(p.key, p.key, p.leaf, p.inter) },
  { category: 'structure', name: 'key DER under a CERTIFICATE label', rules: ['certificate-invalid', 'key-missing'], body: (p) => pemBundle(p.key.replace(/PRIVATE KEY/g, 'CERTIFICATE'), p.leaf, p.inter) },
  { category: 'structure', name: 'certificate DER under a PRIVATE KEY label', rules: ['key-invalid'], body: (p) => pemBundle(p.inter.replace(/CERTIFICATE/g, 'PRIVATE KEY'), p.leaf) },
  { category: 'structure', name: 'extra bytes after the DER of the leaf', rules: ['pem-base64'], body: (p) => pemBundle(p.key, toPem(Buffer.concat([der(p.leaf), Buffer.from([0, 0])])), p.inter) },
  { category: 'structure', name: 'an empty CERTIFICATE block', rules: ['pem-base64'], body: (p) => pemBundle(p.key, p.leaf, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----') },
  { category: 'structure', name: 'empty body', code: 1008, body: () => '' },

  // Transport-level refusals, before any parsing.
  { category: 'transport', name: 'Content-Type application/json', status: 415, contentType: 'application/json', body: (p) => JSON.stringify({ pem: p.base.bundle }) },
  { category: 'transport', name: 'DER sent as application/octet-stream', status: 415, contentType: 'application/octet-stream', body: (p) => der(p.leaf) },
  { category: 'transport', name: 'form-encoded body', status: 415, contentType: 'application/x-www-form-urlencoded', body: (p) => `pem=${encodeURIComponent(p.base.bundle)}` },
  { category: 'transport', name: 'body over MAX_UPLOAD_BYTES', status: 413, body: (p) => p.base.bundle + `# ${'x'.repeat(1024)}\n`.repeat(1100) },

  // ASN.1 abuse, each built by hand and properly signed so the abuse is the only defect.
  { category: 'asn1', name: 'huge serial (1000 octets) on the leaf', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.resignedLeaf((f) => replaceField(f, TBS.serial, integer(Buffer.alloc(1000, 0x5a)))), p.inter) },
  { category: 'asn1', name: 'huge serial (60,000 octets) on the intermediate', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.leaf, p.resignedInter((f) => replaceField(f, TBS.serial, integer(Buffer.alloc(60_000, 0x5a))))) },
  { category: 'asn1', name: 'empty serial INTEGER', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.resignedLeaf((f) => replaceField(f, TBS.serial, tlv(0x02))), p.inter) },
  { category: 'asn1', name: '5,000 nested SEQUENCEs as a certificate', rules: ['certificate-invalid'], body: (p) => pemBundle(p.base.bundle, toPem(nested(5000))) },
  { category: 'asn1', name: '3,000 nested SEQUENCEs inside subjectAltName', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.resignedLeaf((f) => withExtensions(f, extensionsOf(f).map((e, i) => (i === 3 ? extension('2.5.29.17', false, nested(3000)) : e)))), p.inter) },
  { category: 'asn1', name: 'TBSCertificate length one byte too long', rules: ['certificate-invalid'], body: (p) => {
    const parts = splitCertificate(der(p.leaf));
    const tbs = sequence(...parts.tbsFields);
    return pemBundle(p.key, toPem(sequence(tlvWithLength(0x30, readTlv(tbs).length + 1, readTlv(tbs).content), parts.signatureAlgorithm, parts.signature)), p.inter);
  } },
  { category: 'asn1', name: 'outer length shorter than the content', rules: ['pem-base64'], body: (p) => pemBundle(p.key, toPem(tlvWithLength(0x30, readTlv(der(p.leaf)).length - 10, readTlv(der(p.leaf)).content)), p.inter) },
  { category: 'asn1', name: 'indefinite (BER) length', rules: ['pem-base64'], body: (p) => pemBundle(p.key, toPem(Buffer.concat([Buffer.from([0x30, 0x80]), readTlv(der(p.leaf)).content, Buffer.from([0, 0])])), p.inter) },
  { category: 'asn1', name: 'wrong length inside the subjectAltName value', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.resignedLeaf((f) => withExtensions(f, extensionsOf(f).map((e, i) => {
    if (i !== 3) return e;
    const value = readTlv(children(e).at(-1)!).content;
    return extension('2.5.29.17', false, tlvWithLength(0x30, readTlv(value).length + 3, readTlv(value).content));
  }))), p.inter) },
  { category: 'asn1', name: 'duplicated subjectAltName extension', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.resignedLeaf((f) => withExtensions(f, [...extensionsOf(f), extensionsOf(f)[3]!])), p.inter) },
  { category: 'asn1', name: 'duplicated basicConstraints (CA:FALSE, then CA:TRUE)', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.resignedLeaf((f) => withExtensions(f, [...extensionsOf(f), extension('2.5.29.19', true, sequence(tlv(0x01, Buffer.from([0xff]))))])), p.inter) },
  { category: 'asn1', name: 'duplicated extension on the intermediate', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.leaf, p.resignedInter((f) => withExtensions(f, [...extensionsOf(f), extensionsOf(f)[1]!]))) },
  { category: 'asn1', name: 'unknown critical extension on the leaf', rules: ['unknown-critical-extension'], body: (p) => pemBundle(p.key, p.resignedLeaf((f) => withExtensions(f, [...extensionsOf(f), extension('1.3.6.1.4.1.99999.1', true, NULL)])), p.inter) },
  { category: 'asn1', name: 'unknown critical extension on the intermediate', rules: ['unknown-critical-extension'], body: (p) => pemBundle(p.key, p.leaf, p.resignedInter((f) => withExtensions(f, [...extensionsOf(f), extension('1.3.6.1.4.1.99999.2', true, NULL)]))) },
  { category: 'asn1', name: 'keyUsage that is not a BIT STRING', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.resignedLeaf((f) => withExtensions(f, extensionsOf(f).map((e, i) => (i === 1 ? extension('2.5.29.15', true, tlv(0x04, Buffer.from([0x80]))) : e)))), p.inter) },
  { category: 'asn1', name: 'undecodable subjectKeyIdentifier', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.resignedLeaf((f) => withExtensions(f, extensionsOf(f).map((e, i) => (i === 4 ? extension('2.5.29.14', false, sequence(NULL)) : e)))), p.inter) },
  { category: 'asn1', name: 'negative path length on the intermediate', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.leaf, p.resignedInter((f) => withExtensions(f, extensionsOf(f).map((e, i) => (i === 0 ? extension('2.5.29.19', true, sequence(tlv(0x01, Buffer.from([0xff])), tlv(0x02, Buffer.from([0xff])))) : e))))) },
  { category: 'asn1', name: 'authorityKeyIdentifier naming another key (signature still valid)', rules: ['chain-missing-intermediate'], body: (p) => pemBundle(p.key, p.resignedLeaf((f) => withExtensions(f, extensionsOf(f).map((e, i) => (i === 5 ? extension('2.5.29.35', false, sequence(tlv(0x80, Buffer.alloc(20, 0xab)))) : e)))), p.inter) },
  { category: 'asn1', name: 'notBefore on 30 February', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.resignedLeaf((f) => replaceField(f, TBS.validity, validityWith(f, (t) => `${t.slice(0, 2)}0230${t.slice(6)}`, 0))), p.inter) },
  { category: 'asn1', name: 'notAfter without seconds', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.leaf, p.resignedInter((f) => replaceField(f, TBS.validity, validityWith(f, (t) => `${t.slice(0, 10)}Z`, 1)))) },
  { category: 'asn1', name: 'signature algorithm differs from the signed one', rules: ['chain-missing-intermediate'], body: (p) => {
    const fields = splitCertificate(der(p.leaf)).tbsFields;
    return pemBundle(p.key, toPem(signCertificate(fields, p.base.intermediates[0]!.key.privateKey, { outerAlgorithm: sequence(oid('1.2.840.10045.4.3.3')) })), p.inter);
  } },
  { category: 'asn1', name: 'corrupted signature on the leaf', rules: ['chain-missing-intermediate', 'chain-unrelated'], body: (p) => {
    const parts = splitCertificate(der(p.leaf));
    const signature = Buffer.from(parts.signature);
    signature[signature.length - 3]! ^= 0x01;
    return pemBundle(p.key, toPem(sequence(sequence(...parts.tbsFields), parts.signatureAlgorithm, signature)), p.inter);
  } },
  { category: 'asn1', name: 'an extra element after the signature', rules: ['certificate-invalid'], body: (p) => {
    const parts = splitCertificate(der(p.leaf));
    return pemBundle(p.key, toPem(sequence(sequence(...parts.tbsFields), parts.signatureAlgorithm, parts.signature, NULL)), p.inter);
  } },
  { category: 'asn1', name: 'empty version field ([0] without its INTEGER)', rules: ['certificate-invalid'], body: (p) => pemBundle(p.key, p.resignedLeaf((f) => replaceField(f, TBS.version, explicit(0))), p.inter) },

  // Chain abuse (SPEC rule 4).
  { category: 'chain', name: 'two intermediates that issued each other (loop)', rules: ['chain-loop'], body: (p) => pemBundle(p.extra.loopLeaf!.keyPem, p.extra.loopLeaf!.certPem, p.extra.loopA!.certPem, p.extra.loopB!.certPem) },
  { category: 'chain', name: 'a three-certificate loop', rules: ['chain-loop'], body: (p) => pemBundle(p.extra.loop3Leaf!.keyPem, p.extra.loop3Leaf!.certPem, p.extra.loop3A!.certPem, p.extra.loop3B!.certPem, p.extra.loop3C!.certPem) },
  { category: 'chain', name: 'duplicated intermediate with an expired leaf', rules: ['expired'], body: (p) => pemBundle(p.chains.expiredLeaf!.bundle, p.chains.expiredLeaf!.intermediates[0]!.certPem) },
  { category: 'chain', name: 'duplicated leaf whose second copy is truncated', rules: ['pem-base64'], body: (p) => pemBundle(p.base.bundle, replaceBody(p.leaf, oneLine(p.leaf).slice(0, 120))) },
  { category: 'chain', name: 'near-duplicate intermediate (same name and key, re-issued, expired)', rules: ['chain-unrelated'], body: (p) => pemBundle(p.base.bundle, p.extra.interReissuedExpired!.certPem) },
  { category: 'chain', name: 'path length 0 on the upper intermediate with one below it', rules: ['path-length'], body: (p) => p.chains.pathLenUpper!.bundle },
  { category: 'chain', name: 'path length 0 on the root with two intermediates', rules: ['path-length'], body: (p) => pemBundle(p.chains.pathLenRoot!.bundle, p.chains.pathLenRoot!.root.certPem) },
  { category: 'chain', name: 'leaf issued by a non-CA leaf', rules: ['issuer-not-ca'], body: (p) => pemBundle(p.extra.underLeaf!.keyPem, p.extra.underLeaf!.certPem, p.leaf, p.inter) },
  { category: 'chain', name: 'leaf issued by a CA whose key usage lacks keyCertSign', rules: ['issuer-key-usage'], body: (p) => p.chains.noCertSign!.bundle },
  { category: 'chain', name: 'intermediate with the right name but a different key', rules: ['chain-missing-intermediate', 'chain-unrelated'], body: (p) => pemBundle(p.key, p.leaf, p.extra.impostor!.certPem) },
  { category: 'chain', name: 'impostor intermediate next to the real one', rules: ['chain-unrelated'], body: (p) => pemBundle(p.key, p.leaf, p.extra.impostor!.certPem, p.inter) },
  { category: 'chain', name: 'impostor intermediate with the real root', rules: ['chain-missing-intermediate', 'chain-unrelated'], body: (p) => pemBundle(p.key, p.leaf, p.extra.impostor!.certPem, p.root) },
  { category: 'chain', name: 'an unrelated certificate from another chain', rules: ['chain-unrelated'], body: (p) => pemBundle(p.base.bundle, p.other.intermediates[0]!.certPem) },
  { category: 'chain', name: 'eleven certificates', rules: ['chain-too-long'], body: (p) => p.chains.eleven!.bundle },
  { category: 'chain', name: 'only the upper intermediate of two', rules: ['chain-missing-intermediate', 'chain-unrelated'], body: (p) => pemBundle(p.tall.leaf.keyPem, p.tall.leaf.certPem, p.tall.intermediates[1]!.certPem) },
  { category: 'chain', name: 'key of another chain', rules: ['key-mismatch'], body: (p) => pemBundle(p.other.leaf.keyPem, p.leaf, p.inter) },
  { category: 'chain', name: 'EC key with an RSA chain', rules: ['key-mismatch'], body: (p) => pemBundle(p.key, p.rsa.leaf.certPem, p.rsa.intermediates[0]!.certPem) },
  { category: 'chain', name: 'key matching two different certificates', rules: ['key-ambiguous'], body: (p) => pemBundle(p.base.bundle, p.extra.leafTwin!.certPem) },

  // Time (SPEC rule 5), at each position.
  { category: 'time', name: 'expired leaf', rules: ['expired'], body: (p) => p.chains.expiredLeaf!.bundle },
  { category: 'time', name: 'leaf not yet valid', rules: ['not-yet-valid'], body: (p) => p.chains.futureLeaf!.bundle },
  { category: 'time', name: 'expired intermediate', rules: ['expired'], body: (p) => p.chains.expiredInter!.bundle },
  { category: 'time', name: 'intermediate not yet valid', rules: ['not-yet-valid'], body: (p) => p.chains.futureInter!.bundle },
  { category: 'time', name: 'expired upper intermediate of two', rules: ['expired'], body: (p) => p.chains.expiredUpper!.bundle },
  { category: 'time', name: 'upper intermediate of two not yet valid', rules: ['not-yet-valid'], body: (p) => p.chains.futureUpper!.bundle },
  { category: 'time', name: 'expired root included', rules: ['expired'], body: (p) => pemBundle(p.chains.expiredRoot!.bundle, p.chains.expiredRoot!.root.certPem) },
  { category: 'time', name: 'root included that is not yet valid', rules: ['not-yet-valid'], body: (p) => pemBundle(p.chains.futureRoot!.bundle, p.chains.futureRoot!.root.certPem) },
  { category: 'time', name: 'leaf whose notBefore is after its notAfter', rules: ['not-yet-valid'], body: (p) => p.chains.invertedLeaf!.bundle },

  // Policy (SPEC rules 6 and 7).
  { category: 'policy', name: 'RSA-1024 leaf key', rules: ['weak-key'], body: (p) => p.chains.rsa1024Leaf!.bundle },
  { category: 'policy', name: 'RSA-1024 leaf key as PKCS#1', rules: ['weak-key'], body: (p) => pemBundle(toPkcs1Pem(p.chains.rsa1024Leaf!.leaf.keyPem), p.chains.rsa1024Leaf!.leaf.certPem, p.chains.rsa1024Leaf!.intermediates[0]!.certPem) },
  { category: 'policy', name: 'RSA-1024 intermediate', rules: ['weak-key'], body: (p) => p.chains.rsa1024Inter!.bundle },
  { category: 'policy', name: 'leaf signed with ECDSA-SHA1', rules: ['weak-signature'], body: (p) => p.chains.sha1Leaf!.bundle },
  { category: 'policy', name: 'leaf signed with MD5', rules: ['weak-signature'], body: (p) => p.chains.md5Leaf!.bundle },
  { category: 'policy', name: 'intermediate signed with SHA-1 by the root', rules: ['weak-signature'], body: (p) => p.chains.sha1Inter!.bundle },
  { category: 'policy', name: 'CA certificate as the leaf', rules: ['leaf-is-ca'], body: (p) => p.chains.caLeaf!.bundle },
  { category: 'policy', name: 'extended key usage clientAuth only', rules: ['leaf-eku'], body: (p) => p.chains.clientAuth!.bundle },
  { category: 'policy', name: 'extended key usage codeSigning and emailProtection', rules: ['leaf-eku'], body: (p) => p.chains.codeSigning!.bundle },
  { category: 'policy', name: 'leaf key usage keyCertSign only', rules: ['leaf-key-usage'], body: (p) => p.chains.certSignLeaf!.bundle },
  { category: 'policy', name: 'EC leaf with keyEncipherment only', rules: ['leaf-key-usage'], body: (p) => p.chains.encipherLeaf!.bundle },
  { category: 'policy', name: 'secp256k1 leaf key', rules: ['unsupported-key'], body: (p) => p.chains.k1Leaf!.bundle },
  { category: 'policy', name: 'Ed448 leaf key', rules: ['unsupported-key'], body: (p) => p.chains.ed448Leaf!.bundle },
];

async function buildPki(): Promise<Pki> {
  const [base, tall, rsa, other] = await Promise.all([
    createChain(),
    createChain({ intermediates: 2 }),
    createChain({ keyKind: 'rsa2048' }),
    createChain(),
  ]);
  const inter = base.intermediates[0]!;
  const resign = (cert: IssuedCert, issuer: IssuedCert) => (change: (fields: Buffer[]) => Buffer[]) =>
    toPem(signCertificate(change(splitCertificate(cert.cert.raw).tbsFields), issuer.key.privateKey));

  const [kA, kB, kC] = await Promise.all([getKey(), getKey(), getKey()]);
  const nameA = 'CN=hostile loop A';
  const nameB = 'CN=hostile loop B';
  const asA = await createRoot({ subject: nameA, key: kA });
  const asB = await createRoot({ subject: nameB, key: kB });
  const loopA = await issue(asB, { isCa: true, subject: nameA, key: kA });
  const loopB = await issue(asA, { isCa: true, subject: nameB, key: kB });
  const loopLeaf = await issue(loopA);
  const name3 = ['CN=hostile loop3 A', 'CN=hostile loop3 B', 'CN=hostile loop3 C'] as const;
  const as3 = await Promise.all([createRoot({ subject: name3[0], key: kA }), createRoot({ subject: name3[1], key: kB }), createRoot({ subject: name3[2], key: kC })]);
  const loop3A = await issue(as3[1], { isCa: true, subject: name3[0], key: kA });
  const loop3B = await issue(as3[2], { isCa: true, subject: name3[1], key: kB });
  const loop3C = await issue(as3[0], { isCa: true, subject: name3[2], key: kC });
  const loop3Leaf = await issue(loop3A);

  const interSubject = inter.cert.subject.replace(/\n/g, ', ');
  const [interReissuedExpired, underLeaf, impostor, rootLeaf, selfSigned, leafTwin] = await Promise.all([
    issue(base.root, { isCa: true, subject: interSubject, key: inter.key, ...PAST }),
    issue(base.leaf),
    issue(base.root, { isCa: true, subject: interSubject }),
    issue(base.root),
    createRoot({ isCa: false, subject: 'CN=localhost', sans: ['localhost'], keyUsage: ['digitalSignature'], extKeyUsage: ['serverAuth'] }),
    issue(inter, { key: base.leaf.key }),
  ]);

  const [rsa1024] = await Promise.all([getKey('rsa1024')]);
  const tallWith = async (upper: CertOptions) => {
    const root = await createRoot();
    const top = await issue(root, { isCa: true, ...upper });
    const below = await issue(top, { isCa: true });
    const leaf = await issue(below);
    return { root, intermediates: [below, top], leaf, bundle: pemBundle(leaf.keyPem, leaf.certPem, below.certPem, top.certPem) } satisfies TestChain;
  };
  const entries = await Promise.all(Object.entries({
    expiredLeaf: () => createChain({ leaf: PAST }),
    futureLeaf: () => createChain({ leaf: FUTURE }),
    expiredInter: () => createChain({ intermediate: PAST }),
    futureInter: () => createChain({ intermediate: FUTURE }),
    expiredUpper: () => tallWith(PAST),
    futureUpper: () => tallWith(FUTURE),
    expiredRoot: () => createChain({ root: PAST }),
    futureRoot: () => createChain({ root: FUTURE }),
    invertedLeaf: () => createChain({ leaf: { notBefore: new Date(NOW + DAY), notAfter: new Date(NOW - DAY) } }),
    pathLenUpper: () => tallWith({ pathLen: 0 }),
    pathLenRoot: () => createChain({ intermediates: 2, root: { pathLen: 0 } }),
    noCertSign: () => createChain({ intermediate: { keyUsage: ['digitalSignature', 'cRLSign'] } }),
    eleven: () => createChain({ intermediates: 10 }),
    rsa1024Leaf: () => createChain({ leaf: { key: rsa1024 } }),
    rsa1024Inter: () => createChain({ intermediate: { key: rsa1024 } }),
    sha1Leaf: () => createChain({ leaf: { signatureHash: 'SHA-1' } }),
    md5Leaf: () => createChain({ keyKind: 'rsa2048', leaf: { signatureHash: 'MD5' } }),
    sha1Inter: () => createChain({ intermediate: { signatureHash: 'SHA-1' } }),
    caLeaf: () => createChain({ leaf: { isCa: true, subject: 'CN=localhost', sans: ['localhost'], keyUsage: ['digitalSignature', 'keyCertSign'], extKeyUsage: ['serverAuth'] } }),
    clientAuth: () => createChain({ leaf: { extKeyUsage: ['clientAuth'] } }),
    codeSigning: () => createChain({ leaf: { extKeyUsage: ['codeSigning', 'emailProtection'] } }),
    certSignLeaf: () => createChain({ leaf: { keyUsage: ['keyCertSign'] } }),
    encipherLeaf: () => createChain({ leaf: { keyUsage: ['keyEncipherment'] } }),
    k1Leaf: () => createChain({ leaf: { keyKind: 'secp256k1' } }),
    ed448Leaf: () => createChain({ leaf: { keyKind: 'ed448' } }),
  }).map(async ([name, make]) => [name, await make()] as const));

  return {
    base, tall, rsa, other,
    key: base.leaf.keyPem,
    leaf: base.leaf.certPem,
    inter: inter.certPem,
    root: base.root.certPem,
    resignedLeaf: resign(base.leaf, inter),
    resignedInter: resign(inter, base.root),
    extra: { loopA, loopB, loopLeaf, loop3A, loop3B, loop3C, loop3Leaf, interReissuedExpired, underLeaf, impostor, rootLeaf, selfSigned, leafTwin },
    chains: Object.fromEntries(entries),
  };
}

describe('hostile uploads change nothing and get a clear error', () => {
  let server: TestServer;
  let token: string;
  let pki: Pki;
  let keyLines: string[];

  const state = () => {
    const db = server.hotcert.services.sqlite!.$client;
    const { n } = db.prepare('select count(*) as n from certificate_versions').get() as { n: number };
    const row = db.prepare('select active_version as active, generation from service_state').get() as { active: number; generation: number };
    return { versions: n, active: row.active, generation: row.generation };
  };

  beforeAll(async () => {
    [server, pki] = await Promise.all([startTestServer(), buildPki()]);
    token = await server.adminToken();
    // An uploaded bundle is the one to protect, not the self-signed default.
    const res = await server.upload(pki.base.bundle, token);
    expect(res.status).toBe(201);
    keyLines = b64(pki.key).filter((line) => line.length >= 32);
  });
  afterAll(() => server?.close());

  it('has at least 60 distinct cases covering every category', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(60);
    expect(new Set(cases.map((c) => c.category))).toEqual(new Set(['structure', 'transport', 'asn1', 'chain', 'time', 'policy']));
  });

  it.each(cases.map((c) => [`${c.category}: ${c.name}`, c] as const))('%s', async (_title, hostile) => {
    const body = hostile.body(pki);
    const before = { peer: (await peerCertificate(server.port)).fingerprint, ...state() };

    const res = await server.upload(body, token, hostile.contentType ? { 'Content-Type': hostile.contentType } : {});

    expect(res.status).toBe(hostile.status ?? 400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const code = hostile.code ?? 1009;
    const title = code === 1009 ? 'Parameter value is not valid' : 'Required parameter is missing';
    expect(res.json).toEqual({ errors: expect.any(Array), meta: { api_status: 'stable', version: VERSION } });
    // One entry per problem: a transport case (no rules) is one problem; the others are compared entry by entry below.
    if (!hostile.rules) expect(res.json.errors).toHaveLength(1);
    for (const entry of res.json.errors) {
      expect(entry).toEqual({ code, title, details: expect.any(String) });
      expect(entry.details).not.toMatch(/-----BEGIN [A-Z]|<script>|\bat .*\.js:\d+/);
      for (const line of keyLines) expect(entry.details).not.toContain(line.slice(0, 24));
    }
    if (hostile.rules) {
      // The same pure validator the worker ran: the upload failed for the intended reason, one entry per problem.
      const local = validateBundle(body, { now: server.clock.now });
      expect(local.ok).toBe(false);
      const errors = local.ok ? [] : local.errors;
      expect(errors.map((e) => e.rule)).toEqual(expect.arrayContaining(hostile.rules));
      expect(errors.map((e) => e.rule)).not.toContain('internal');
      expect(res.json.errors.map((e: { details: string }) => e.details)).toEqual(errors.map((e) => e.message));
    }

    const [peer, health] = await Promise.all([peerCertificate(server.port), server.request('GET', '/healthz')]);
    expect(peer.fingerprint).toBe(before.peer);
    expect(state()).toEqual({ versions: before.versions, active: before.active, generation: before.generation });
    expect(health.status).toBe(200);
  });

  it('still accepts text between blocks, CRLF and indentation (the lenient side of SPEC rule 1)', async () => {
    const chain = await createChain();
    const before = state();
    const body = ['Bag Attributes', '    localKeyID: 01 02 03', chain.leaf.keyPem, 'subject=CN = localhost', chain.leaf.certPem, 'issuer=CN = root', chain.intermediates[0]!.certPem.replace(/\n(?=[A-Za-z0-9+/])/g, '\n  ')]
      .join('\n').replace(/\n/g, '\r\n');
    const res = await server.upload(body, token);
    expect(res.status).toBe(201);
    expect((await peerCertificate(server.port)).fingerprint).toBe(chain.leaf.cert.fingerprint256.replaceAll(':', '').toLowerCase());
    expect(state().versions).toBe(before.versions + 1);
    const active = await server.request('GET', '/v1/certificates/external', { headers: bearer(token) });
    expect(active.json.certificates[0].warnings.map((w: { rule: string }) => w.rule)).toContain('normalised-text');
  });

  it('keeps a stable memory footprint when every case is replayed twice more', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'vitest.config.ts passes --expose-gc').toBeTypeOf('function');
    const replay = async () => {
      for (const hostile of cases) await server.upload(hostile.body(pki), token, hostile.contentType ? { 'Content-Type': hostile.contentType } : {});
    };
    const openConnections = () =>
      new Promise<number>((resolve, reject) => server.hotcert.listener.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    // Measured once the replay's connections are gone and collections stop freeing anything: on a busy machine
    // sockets close and native TLS buffers are released (by finalizers, after a collection) later than on an idle one.
    const settled = async () => {
      for (let i = 0; i < 1000 && (await openConnections()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await openConnections()).toBe(0);
      let lowest = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 20; i++) {
        gc!();
        await new Promise((resolve) => setImmediate(resolve));
        const usage = process.memoryUsage();
        const now = usage.heapUsed + usage.external;
        if (now >= lowest) break;
        lowest = now;
      }
      return lowest;
    };
    await replay();
    const first = await settled();
    await replay();
    await replay();
    const grown = (await settled()) - first;
    expect(grown, `grew by ${(grown / 1024 / 1024).toFixed(1)} MB`).toBeLessThan(8 * 1024 * 1024);
  }, 120_000);

  it('survived every case: the process still serves and logged no internal error', async () => {
    expect((await server.request('GET', '/healthz')).status).toBe(200);
    const internal = server.logs.filter((line) => /"level":"(error|fatal)"/.test(line));
    expect(internal).toEqual([]);
  });
});
