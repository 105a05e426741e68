import { children, contentOf, decodeOid, readStrict, strictChildren, tbsFields, type DerElement } from './der.js';

/**
 * The few certificate fields the rules read (signature algorithm, serial, validity, extension list),
 * without decoding names and keys into objects as a full X.509 parse does.
 */
export interface CertificateShell {
  /** Outer signatureAlgorithm OID. */
  signatureAlgorithm: string;
  /** Content octets of the serialNumber INTEGER, as encoded (a leading 0x00 included). */
  serialNumber: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** Empty when the certificate has no extensions field. */
  extensions: ShellExtension[];
}

export interface ShellExtension {
  extnID: string;
  /** DEFAULT FALSE when absent. */
  critical: boolean;
  /** Content octets of extnValue (the DER of the extension's value). */
  value: Uint8Array;
}

/**
 * Larger certificates are left to the schema parser: asn1js (under @peculiar/asn1-schema) refuses input
 * of more than 10,000 elements, and every element takes at least 2 octets.
 */
export const MAX_SHELL_OCTETS = 16 * 1024;

const SEQUENCE = 0x30;
const SET = 0x31;
const INTEGER = 0x02;
const BOOLEAN = 0x01;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const NULL = 0x05;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const VERSION = 0xa0;
const EXTENSIONS = 0xa3;
/** UTF8String, PrintableString, TeletexString, IA5String: the attribute value types read here. */
const NAME_STRING_TAGS = new Set([0x0c, 0x13, 0x14, 0x16]);

/**
 * Reads the shell of a certificate in plain DER, checking the whole structure (tags, lengths, element
 * counts; names, keys and algorithm parameters included) without building objects.
 *
 * Undefined whenever the encoding is outside the plain profile (BER lengths, multi-octet tags, unique
 * identifiers, algorithm parameters other than absent/NULL/OID, name values other than the four usual
 * string types, times other than YYMMDDHHMMSSZ / YYYYMMDDHHMMSSZ, an empty extension list, trailing
 * bytes, ...). Such a certificate is not necessarily invalid: callers then fall back to the full schema
 * parse, which decides as it always has. Everything accepted here is also accepted by that parse, with
 * the same field values (test/validation/certificate-shell.test.ts cross-checks both).
 */
export function readCertificateShell(der: Uint8Array): CertificateShell | undefined {
  if (der.length > MAX_SHELL_OCTETS) return undefined;
  const certificate = readStrict(der, 0, der.length);
  if (!certificate || certificate.tag !== SEQUENCE || certificate.end !== der.length) return undefined;
  const parts = strictChildren(der, certificate);
  if (!parts || parts.length !== 3) return undefined;
  const [tbs, outerAlgorithm, signature] = parts as [DerElement, DerElement, DerElement];
  if (tbs.tag !== SEQUENCE || !isBitString(der, signature)) return undefined;
  const signatureAlgorithm = algorithmOid(der, outerAlgorithm);
  if (signatureAlgorithm === undefined) return undefined;

  const fields = strictChildren(der, tbs);
  if (!fields) return undefined;
  let at = 0;
  if (fields[0]?.tag === VERSION && !isVersion(der, fields[0])) return undefined;
  if (fields[0]?.tag === VERSION) at = 1;
  const [serial, innerAlgorithm, issuer, validity, subject, spki, extensionsField, ...rest] = fields.slice(at);
  if (!serial || serial.tag !== INTEGER || serial.start === serial.end) return undefined;
  if (!innerAlgorithm || algorithmOid(der, innerAlgorithm) === undefined) return undefined;
  if (!issuer || !isName(der, issuer) || !subject || !isName(der, subject)) return undefined;
  if (!spki || !isPublicKeyInfo(der, spki)) return undefined;
  if (rest.length !== 0) return undefined;
  const times = validity?.tag === SEQUENCE ? strictChildren(der, validity) : undefined;
  if (!times || times.length !== 2) return undefined;
  const notBefore = decodeTime(der, times[0]!);
  const notAfter = decodeTime(der, times[1]!);
  if (!notBefore || !notAfter) return undefined;

  let extensions: ShellExtension[] = [];
  if (extensionsField) {
    const decoded = extensionsField.tag === EXTENSIONS ? decodeExtensions(der, extensionsField) : undefined;
    if (!decoded) return undefined;
    extensions = decoded;
  }
  return { signatureAlgorithm, serialNumber: der.subarray(serial.start, serial.end), notBefore, notAfter, extensions };
}

function isBitString(der: Uint8Array, element: DerElement): boolean {
  return element.tag === BIT_STRING && element.end > element.start && der[element.start]! <= 7;
}

/** [0] EXPLICIT INTEGER holding v1, v2 or v3. */
function isVersion(der: Uint8Array, element: DerElement): boolean {
  const inner = strictChildren(der, element);
  const value = inner?.length === 1 ? inner[0]! : undefined;
  return value !== undefined && value.tag === INTEGER && value.end - value.start === 1 && der[value.start]! <= 2;
}

/** AlgorithmIdentifier with absent, NULL or OID parameters; its OID. */
function algorithmOid(der: Uint8Array, element: DerElement): string | undefined {
  if (element.tag !== SEQUENCE) return undefined;
  const inner = strictChildren(der, element);
  if (!inner || inner.length < 1 || inner.length > 2) return undefined;
  const parameters = inner[1];
  if (parameters) {
    const isNull = parameters.tag === NULL && parameters.start === parameters.end;
    if (!isNull && decodeOid(der, parameters) === undefined) return undefined;
  }
  return decodeOid(der, inner[0]!);
}

/** SEQUENCE OF non-empty SET OF SEQUENCE { OID, non-empty string }. */
function isName(der: Uint8Array, element: DerElement): boolean {
  if (element.tag !== SEQUENCE) return false;
  const rdns = strictChildren(der, element);
  if (!rdns) return false;
  for (const rdn of rdns) {
    const attributes = rdn.tag === SET ? strictChildren(der, rdn) : undefined;
    if (!attributes || attributes.length === 0) return false;
    for (const attribute of attributes) {
      const pair = attribute.tag === SEQUENCE ? strictChildren(der, attribute) : undefined;
      if (!pair || pair.length !== 2 || decodeOid(der, pair[0]!) === undefined) return false;
      const value = pair[1]!;
      if (!NAME_STRING_TAGS.has(value.tag) || value.start === value.end) return false;
    }
  }
  return true;
}

function isPublicKeyInfo(der: Uint8Array, element: DerElement): boolean {
  if (element.tag !== SEQUENCE) return false;
  const inner = strictChildren(der, element);
  return inner?.length === 2 && algorithmOid(der, inner[0]!) !== undefined && isBitString(der, inner[1]!);
}

const UTC_TIME_TEXT = /^\d{12}Z$/;
const GENERALIZED_TIME_TEXT = /^\d{14}Z$/;

/**
 * The validity times not encoded as RFC 5280 4.1.2.5 requires and OpenSSL enforces (YYMMDDHHMMSSZ or
 * YYYYMMDDHHMMSSZ, a real calendar date), read once with the certificate; [] when the validity cannot be found.
 */
export function malformedValidityTimes(der: Uint8Array): ('notBefore' | 'notAfter')[] {
  const validity = tbsFields(der)[3];
  if (!validity) return [];
  const [notBefore, notAfter] = children(der, validity, 2);
  return ([['notBefore', notBefore], ['notAfter', notAfter]] as const)
    .filter(([, time]) => !time || !isWellFormedTime(der, time))
    .map(([name]) => name);
}

function isWellFormedTime(der: Uint8Array, time: DerElement): boolean {
  const text = contentOf(der, time).toString('latin1');
  const utc = time.tag === UTC_TIME;
  if (!(utc ? UTC_TIME_TEXT : GENERALIZED_TIME_TEXT).test(text) || (!utc && time.tag !== GENERALIZED_TIME)) return false;
  const digits = utc ? `${Number(text.slice(0, 2)) >= 50 ? 19 : 20}${text}` : text;
  const [year, month, day, hour, minute, second] = [0, 4, 6, 8, 10, 12].map((at, i) => Number(digits.slice(at, i === 0 ? 4 : at + 2))) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour < 24 && minute < 60 && second < 60;
}

/** The date exactly as asn1js computes it (Date.UTC, fields overflowing into the next unit). */
function decodeTime(der: Uint8Array, element: DerElement): Date | undefined {
  const text = Buffer.from(der.buffer, der.byteOffset + element.start, element.end - element.start).toString('latin1');
  const number = (from: number) => Number(text.slice(from, from + 2));
  if (element.tag === UTC_TIME && UTC_TIME_TEXT.test(text)) {
    const year = number(0);
    return new Date(Date.UTC(year >= 50 ? 1900 + year : 2000 + year, number(2) - 1, number(4), number(6), number(8), number(10)));
  }
  if (element.tag === GENERALIZED_TIME && GENERALIZED_TIME_TEXT.test(text)) {
    return new Date(Date.UTC(Number(text.slice(0, 4)), number(4) - 1, number(6), number(8), number(10), number(12), 0));
  }
  return undefined;
}

/** [3] EXPLICIT SEQUENCE SIZE (1..MAX) OF Extension. */
function decodeExtensions(der: Uint8Array, wrapper: DerElement): ShellExtension[] | undefined {
  const inner = strictChildren(der, wrapper);
  const list = inner?.length === 1 && inner[0]!.tag === SEQUENCE ? strictChildren(der, inner[0]!) : undefined;
  if (!list || list.length === 0) return undefined;
  const extensions: ShellExtension[] = [];
  for (const element of list) {
    const fields = element.tag === SEQUENCE ? strictChildren(der, element) : undefined;
    if (!fields || fields.length < 2 || fields.length > 3) return undefined;
    const extnID = decodeOid(der, fields[0]!);
    if (extnID === undefined) return undefined;
    let critical = false;
    if (fields.length === 3) {
      const flag = fields[1]!;
      if (flag.tag !== BOOLEAN || flag.end - flag.start !== 1) return undefined;
      const octet = der[flag.start]!;
      if (octet !== 0x00 && octet !== 0xff) return undefined;
      critical = octet === 0xff;
    }
    const value = fields[fields.length - 1]!;
    if (value.tag !== OCTET_STRING || value.start === value.end) return undefined;
    extensions.push({ extnID, critical, value: der.subarray(value.start, value.end) });
  }
  return extensions;
}
