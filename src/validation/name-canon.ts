import { children, contentOf, tbsFields, type DerElement } from './der.js';

/**
 * Issuer and subject names in the canonical form RFC 5280 (7.1) and OpenSSL (x509_name_canon) compare:
 * string attribute values are read as text, lower-cased (ASCII only), trimmed, and runs of white space
 * folded to one space; any other value is compared by its exact encoding. Two names chain when their
 * canonical forms are equal, whatever string types and spacing each certificate used.
 */
export interface CanonicalNames {
  issuer: string;
  subject: string;
}

const STRING_DECODERS: Record<number, (content: Buffer) => string> = {
  0x0c: (c) => c.toString('utf8'), // UTF8String
  0x13: (c) => c.toString('latin1'), // PrintableString
  0x14: (c) => c.toString('latin1'), // TeletexString, read as Latin-1 as OpenSSL does
  0x16: (c) => c.toString('latin1'), // IA5String
  0x1a: (c) => c.toString('latin1'), // VisibleString
  0x1e: (c) => utf16be(c), // BMPString
  0x1c: (c) => utf32be(c), // UniversalString
};

/** The canonical issuer and subject of a DER certificate; undefined when its TBSCertificate cannot be walked. */
export function canonicalNames(raw: Uint8Array): CanonicalNames | undefined {
  const fields = tbsFields(raw);
  const issuer = fields[2];
  const subject = fields[4];
  if (issuer?.tag !== 0x30 || subject?.tag !== 0x30) return undefined;
  return { issuer: canonicalName(raw, issuer), subject: canonicalName(raw, subject) };
}

/** One line per RDN, its attributes sorted (a SET has no order); exact bytes for anything unexpected. */
export function canonicalName(der: Uint8Array, name: DerElement): string {
  const raw = () => `raw:${contentOf(der, name).toString('hex')}`;
  const rdns: string[] = [];
  let consumed = name.start;
  for (const rdn of children(der, name)) {
    consumed = rdn.end;
    if (rdn.tag !== 0x31) return raw();
    const attributes: string[] = [];
    for (const attribute of children(der, rdn)) {
      const [type, value] = children(der, attribute, 3);
      if (attribute.tag !== 0x30 || type?.tag !== 0x06 || !value) return raw();
      attributes.push(`${contentOf(der, type).toString('hex')}=${canonicalValue(der, value)}`);
    }
    rdns.push(attributes.sort().join('+'));
  }
  if (consumed !== name.end) return raw();
  return JSON.stringify(rdns);
}

function canonicalValue(der: Uint8Array, value: DerElement): string {
  const decode = STRING_DECODERS[value.tag];
  const content = contentOf(der, value);
  if (!decode) return `#${value.tag.toString(16)}:${content.toString('hex')}`;
  const text = decode(content)
    .replace(/[A-Z]/g, (c) => c.toLowerCase())
    .replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '')
    .replace(/[ \t\n\v\f\r]+/g, ' ');
  return `s:${JSON.stringify(text)}`;
}

function utf16be(content: Buffer): string {
  const swapped = Buffer.from(content.subarray(0, content.length - (content.length % 2)));
  swapped.swap16();
  return swapped.toString('utf16le');
}

function utf32be(content: Buffer): string {
  let text = '';
  for (let i = 0; i + 4 <= content.length; i += 4) {
    const point = content.readUInt32BE(i);
    text += point <= 0x10ffff ? String.fromCodePoint(point) : '\ufffd';
  }
  return text;
}
