/**
 * The one DER reader of the validation rules (elements are offsets into the buffer read, nothing is copied).
 *
 * `readElement` accepts any definite length of at most 4 octets and says whether it was in its shortest
 * form (`minimal`): the certificate reader insists on plain DER (`readStrict`, `strictChildren`), the
 * rules that look at fields node:crypto does not expose walk leniently (`children`, `tbsFields`) and give
 * up quietly on anything malformed, and the PEM splitter only asks whether a block is one element.
 */

/** One element: its content is `der[start, end)`. */
export interface DerElement {
  tag: number;
  start: number;
  end: number;
  /** The length is in its shortest form, as DER requires (BER also allows longer ones). */
  minimal: boolean;
}

/**
 * The element at `offset`, which must end at or before `limit`: single-octet tag and a definite length
 * of at most 4 octets. Undefined for anything else (multi-octet tag, indefinite length, truncation).
 */
export function readElement(der: Uint8Array, offset: number, limit: number = der.length): DerElement | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) return undefined;
  let length = der[offset + 1]!;
  let start = offset + 2;
  let minimal = true;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || start + octets > limit) return undefined;
    minimal = der[start] !== 0;
    length = 0;
    for (let i = 0; i < octets; i += 1) length = length * 256 + der[start + i]!;
    if (length < 0x80) minimal = false;
    start += octets;
  }
  const end = start + length;
  return end > limit ? undefined : { tag, start, end, minimal };
}

/** The element at `offset` in plain DER (shortest length form); undefined for anything else. */
export function readStrict(der: Uint8Array, offset: number, limit: number): DerElement | undefined {
  const element = readElement(der, offset, limit);
  return element?.minimal ? element : undefined;
}

/** The children of `parent`, which must exactly fill its content; undefined if any is not plain DER. */
export function strictChildren(der: Uint8Array, parent: DerElement): DerElement[] | undefined {
  const result: DerElement[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = readStrict(der, offset, parent.end);
    if (!child) return undefined;
    result.push(child);
    offset = child.end;
  }
  return result;
}

/** Up to `max` children of `parent`, any length form; stops quietly at the first malformed one. */
export function children(der: Uint8Array, parent: DerElement, max = Number.MAX_SAFE_INTEGER): DerElement[] {
  const result: DerElement[] = [];
  for (let offset = parent.start; offset < parent.end && result.length < max; ) {
    const child = readElement(der, offset, parent.end);
    if (!child) break;
    result.push(child);
    offset = child.end;
  }
  return result;
}

/** Whether `der` is exactly one element: catches truncated and concatenated PEM blocks cheaply. */
export function isOneElement(der: Uint8Array): boolean {
  return readElement(der, 0)?.end === der.length;
}

/** The content octets of `element` as a Buffer over the same memory. */
export function contentOf(der: Uint8Array, element: DerElement): Buffer {
  return Buffer.from(der.buffer, der.byteOffset + element.start, element.end - element.start);
}

/**
 * The TBSCertificate fields of a DER certificate from serialNumber on (an explicit [0] version is
 * skipped), so index 2 is the issuer, 3 the validity, 4 the subject, 5 the subjectPublicKeyInfo; [] when
 * it cannot be walked.
 */
export function tbsFields(certificateDer: Uint8Array): DerElement[] {
  const certificate = readElement(certificateDer, 0);
  const tbs = certificate && readElement(certificateDer, certificate.start, certificate.end);
  if (!tbs) return [];
  const fields = children(certificateDer, tbs, 7);
  return fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
}

/** Subidentifiers longer than this (49 bits) are left to the schema parser. */
const MAX_SUBIDENTIFIER_OCTETS = 7;

/**
 * Dotted form of an OBJECT IDENTIFIER's content; undefined when empty, truncated, padded with a leading
 * 0x80 octet, or holding a subidentifier too large to decode exactly.
 */
export function decodeOid(der: Uint8Array, element: Pick<DerElement, 'tag' | 'start' | 'end'>): string | undefined {
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
