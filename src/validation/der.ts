/**
 * Small DER readers shared by the validation rules.
 *
 * - `readElement` / `childElements`: lenient walkers (definite lengths only, any length form) used to
 *   look at fields node:crypto does not expose; they give up quietly on anything malformed.
 * - `readStrict` / `strictChildren` / `decodeOid`: strict DER (single-octet tags, minimal definite
 *   lengths, bounds checked) for the certificate shell; undefined means "not plain DER".
 */

export interface Element {
  tag: number;
  content: Buffer;
  end: number;
}

/** One DER element at `offset` (definite lengths only); undefined when malformed. */
export function readElement(der: Buffer, offset: number): Element | undefined {
  const tag = der[offset];
  let length = der[offset + 1];
  if (tag === undefined || length === undefined) return undefined;
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) return undefined;
    length = 0;
    for (let i = 0; i < octets; i += 1) length = length * 256 + (der[start + i] ?? 0);
    start += octets;
  }
  const end = start + length;
  return end > der.length ? undefined : { tag, content: der.subarray(start, end), end };
}

export function childElements(parent: Buffer, limit: number): Element[] {
  const result: Element[] = [];
  for (let offset = 0; offset < parent.length && result.length < limit; ) {
    const element = readElement(parent, offset);
    if (!element) break;
    result.push(element);
    offset = element.end;
  }
  return result;
}

/**
 * The TBSCertificate fields of a DER certificate from serialNumber on (an explicit [0] version is
 * skipped), so index 2 is the issuer, 4 the subject, 5 the subjectPublicKeyInfo; [] when it cannot be walked.
 */
export function tbsFields(certificateDer: Buffer): Element[] {
  const certificate = readElement(certificateDer, 0);
  const tbs = certificate && readElement(certificate.content, 0);
  if (!tbs) return [];
  const fields = childElements(tbs.content, 7);
  return fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
}

/** A strictly DER-encoded element: content is `der[start, end)`. */
export interface StrictElement {
  tag: number;
  start: number;
  end: number;
}

/**
 * The element at `offset`, which must end at or before `limit`: single-octet tag, definite length in its
 * shortest form (at most 4 length octets). Undefined for anything else (indefinite or non-minimal length,
 * multi-octet tag, truncation).
 */
export function readStrict(der: Uint8Array, offset: number, limit: number): StrictElement | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) return undefined;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || start + octets > limit) return undefined;
    if (der[start] === 0) return undefined;
    length = 0;
    for (let i = 0; i < octets; i += 1) length = length * 256 + der[start + i]!;
    if (length < 0x80) return undefined;
    start += octets;
  }
  const end = start + length;
  return end > limit ? undefined : { tag, start, end };
}

/** The children of `parent`, which must exactly fill its content; undefined if any is not strict DER. */
export function strictChildren(der: Uint8Array, parent: StrictElement): StrictElement[] | undefined {
  const result: StrictElement[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = readStrict(der, offset, parent.end);
    if (!child) return undefined;
    result.push(child);
    offset = child.end;
  }
  return result;
}

/** Subidentifiers longer than this (49 bits) are left to the schema parser. */
const MAX_SUBIDENTIFIER_OCTETS = 7;

/**
 * Dotted form of an OBJECT IDENTIFIER's content; undefined when empty, truncated, padded with a leading
 * 0x80 octet, or holding a subidentifier too large to decode exactly.
 */
export function decodeOid(der: Uint8Array, element: StrictElement): string | undefined {
  if (element.tag !== 0x06 || element.start === element.end) return undefined;
  let text = '';
  let value = 0;
  let octets = 0;
  for (let i = element.start; i < element.end; i += 1) {
    const octet = der[i]!;
    if (octets === 0 && octet === 0x80) return undefined;
    octets += 1;
    if (octets > MAX_SUBIDENTIFIER_OCTETS) return undefined;
    value = value * 128 + (octet & 0x7f);
    if (octet & 0x80) continue;
    if (text === '') text = value < 40 ? `0.${value}` : value < 80 ? `1.${value - 40}` : `2.${value - 80}`;
    else text += `.${value}`;
    value = 0;
    octets = 0;
  }
  return octets === 0 ? text : undefined;
}
