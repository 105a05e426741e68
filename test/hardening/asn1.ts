/**
 * Just enough DER to build hostile certificates by hand: TLV encode/decode, the few universal types
 * X.509 needs, and re-signing a modified TBSCertificate with the issuer's key so that the only defect
 * in the result is the one a test put there.
 *
 *   const parts = splitCertificate(leaf.cert.raw);
 *   const tbs = replaceField(parts.tbsFields, TBS.serial, integer(Buffer.alloc(1000, 0x11)));
 *   const der = signCertificate(tbs, intermediate.key.privateKey);
 */
import { sign, type KeyObject } from 'node:crypto';

export interface Tlv {
  tag: number;
  /** Offset of the content from the start of the element. */
  headerLength: number;
  length: number;
  /** The whole element (header and content). */
  raw: Buffer;
  content: Buffer;
}

/** Positions of the TBSCertificate fields of a v3 certificate. */
export const TBS = { version: 0, serial: 1, signature: 2, issuer: 3, validity: 4, subject: 5, spki: 6, extensions: 7 } as const;

export function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const content = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

/** A TLV whose length field says `claimed` whatever the content is: for wrong-length tests. */
export function tlvWithLength(tag: number, claimed: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(claimed), content]);
}

export const sequence = (...contents: Uint8Array[]): Buffer => tlv(0x30, ...contents);
export const set = (...contents: Uint8Array[]): Buffer => tlv(0x31, ...contents);
export const octetString = (content: Uint8Array): Buffer => tlv(0x04, content);
export const bitString = (content: Uint8Array): Buffer => tlv(0x03, Buffer.from([0]), content);
export const boolean = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
export const explicit = (n: number, ...contents: Uint8Array[]): Buffer => tlv(0xa0 | n, ...contents);
export const NULL = Buffer.from([0x05, 0x00]);

/** INTEGER from big-endian magnitude bytes; a 0x00 is prepended when the top bit is set (stays positive). */
export function integer(magnitude: Uint8Array): Buffer {
  const bytes = Buffer.from(magnitude);
  return tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [40 * parts[0]! + parts[1]!];
  for (const part of parts.slice(2)) {
    const groups: number[] = [];
    let n = part;
    do {
      groups.unshift(n & 0x7f);
      n = Math.floor(n / 128);
    } while (n > 0);
    for (let i = 0; i < groups.length - 1; i += 1) groups[i]! |= 0x80;
    bytes.push(...groups);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** Reads the element at `offset` (single-byte tags, definite lengths only). Throws on anything else. */
export function readTlv(buffer: Buffer, offset = 0): Tlv {
  const tag = buffer[offset];
  const first = buffer[offset + 1];
  if (tag === undefined || first === undefined) throw new Error('asn1: truncated header');
  let length = first;
  let headerLength = 2;
  if (first & 0x80) {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4) throw new Error('asn1: unsupported length');
    length = 0;
    for (let i = 0; i < octets; i += 1) length = length * 256 + buffer[offset + 2 + i]!;
    headerLength += octets;
  }
  const end = offset + headerLength + length;
  if (end > buffer.length) throw new Error('asn1: truncated content');
  return { tag, headerLength, length, raw: buffer.subarray(offset, end), content: buffer.subarray(offset + headerLength, end) };
}

/** The raw child elements of a constructed element. */
export function children(element: Buffer): Buffer[] {
  const { content } = readTlv(element);
  const result: Buffer[] = [];
  for (let offset = 0; offset < content.length; ) {
    const child = readTlv(content, offset);
    result.push(child.raw);
    offset += child.raw.length;
  }
  return result;
}

/** `depth` SEQUENCEs inside each other around `inner`. */
export function nested(depth: number, inner: Buffer = NULL): Buffer {
  let element = inner;
  for (let i = 0; i < depth; i += 1) element = sequence(element);
  return element;
}

export interface CertificateParts {
  tbsFields: Buffer[];
  signatureAlgorithm: Buffer;
  signature: Buffer;
}

export function splitCertificate(der: Buffer): CertificateParts {
  const [tbs, signatureAlgorithm, signature] = children(der);
  if (!tbs || !signatureAlgorithm || !signature) throw new Error('asn1: not a certificate');
  return { tbsFields: children(tbs), signatureAlgorithm, signature };
}

export function replaceField(fields: Buffer[], index: number, value: Buffer): Buffer[] {
  return fields.map((field, i) => (i === index ? value : field));
}

export function extension(extnId: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(extnId), ...(critical ? [boolean(true)] : []), octetString(value));
}

/** The extensions of a v3 TBSCertificate, as raw Extension elements. */
export function extensionsOf(fields: Buffer[]): Buffer[] {
  const wrapper = fields[TBS.extensions];
  if (!wrapper) return [];
  return children(children(wrapper)[0]!);
}

export function withExtensions(fields: Buffer[], extensions: Buffer[]): Buffer[] {
  return replaceField(fields, TBS.extensions, explicit(3, sequence(...extensions)));
}

const HASH_BY_SIGNATURE_OID: Record<string, string> = {
  '2a8648ce3d040302': 'sha256', // ecdsa-with-SHA256
  '2a8648ce3d040303': 'sha384',
  '2a864886f70d01010b': 'sha256', // sha256WithRSAEncryption
  '2a864886f70d01010c': 'sha384',
};

/** Signs the TBSCertificate made of `fields` with `key`, using the algorithm its signature field names. */
export function signCertificate(fields: Buffer[], key: KeyObject, options: { outerAlgorithm?: Buffer } = {}): Buffer {
  const tbs = sequence(...fields);
  const algorithm = fields[TBS.signature]!;
  const algorithmOid = readTlv(children(algorithm)[0]!).content.toString('hex');
  const hash = HASH_BY_SIGNATURE_OID[algorithmOid];
  if (!hash) throw new Error(`asn1: cannot sign with algorithm ${algorithmOid}`);
  const signature = sign(hash, tbs, key);
  return sequence(tbs, options.outerAlgorithm ?? algorithm, bitString(signature));
}

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function fromPem(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}
