import { isOneElement } from './der.js';
import { finding, type Finding } from './findings.js';

/** SPEC rule 1: what the text of an upload may look like. */
export const MAX_INPUT_BYTES = 1024 * 1024;
/** Far above any real bundle (key + 10 certificates); stops abuse before any parsing. */
export const MAX_BLOCKS = 32;

export const CERTIFICATE_LABEL = 'CERTIFICATE';
export const KEY_LABELS = ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'] as const;
export type KeyLabel = (typeof KEY_LABELS)[number];
export const ENCRYPTED_KEY_LABEL = 'ENCRYPTED PRIVATE KEY';
/** `openssl ecparam -genkey` writes this before the key; it carries nothing we need. */
export const IGNORED_LABELS = ['EC PARAMETERS'] as const;

/** Labels we may quote back; anything else is called "an unknown label" so no input is echoed. */
const QUOTABLE_LABELS = new Set<string>([
  CERTIFICATE_LABEL, ...KEY_LABELS, ENCRYPTED_KEY_LABEL, ...IGNORED_LABELS,
  'CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST', 'PUBLIC KEY', 'RSA PUBLIC KEY', 'PKCS7', 'CMS',
  'X509 CRL', 'TRUSTED CERTIFICATE', 'X509 CERTIFICATE', 'DSA PRIVATE KEY', 'OPENSSH PRIVATE KEY',
  'DH PARAMETERS', 'X9.42 DH PARAMETERS', 'DSA PARAMETERS', 'PGP PRIVATE KEY BLOCK', 'PGP PUBLIC KEY BLOCK',
  'ANY PRIVATE KEY', 'SSH2 ENCRYPTED PRIVATE KEY',
]);

export interface PemBlock {
  /** 1-based position among all BEGIN/END blocks in upload order. */
  index: number;
  label: string;
  der: Buffer;
  /** RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`), present only on legacy encrypted keys. */
  headers: string[];
}

export type PemSplit =
  | { ok: true; blocks: PemBlock[]; warnings: Finding[] }
  | { ok: false; errors: Finding[]; warnings: Finding[] };

const MARKER = /-----(BEGIN|END) ([^\-\r\n]{0,80})-----/g;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** One block, base64 in 64-character lines, ending in a newline. */
export function encodePem(label: string, der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function describeLabel(label: string): string {
  return QUOTABLE_LABELS.has(label) ? `"${label}"` : 'an unknown label';
}

/** Decodes bytes to text, refusing DER, NUL bytes and invalid UTF-8 (SPEC rule 1). */
function decodeInput(input: string | Uint8Array): { text: string } | { error: Finding } {
  if (typeof input !== 'string') {
    if (input.byteLength > MAX_INPUT_BYTES) return { error: tooLarge() };
    if (looksLikeDer(input[0], input[1]) && !containsBegin(input)) return { error: derError() };
    if (input.includes(0)) return { error: nulError() };
    try {
      return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input) };
    } catch {
      return {
        error: finding('pem-encoding', 'the upload is not valid UTF-8 text; upload the PEM files as they are written by openssl (plain ASCII text)'),
      };
    }
  }
  if (input.length > MAX_INPUT_BYTES || Buffer.byteLength(input, 'utf8') > MAX_INPUT_BYTES) return { error: tooLarge() };
  if (looksLikeDer(input.charCodeAt(0), input.charCodeAt(1)) && !input.includes('-----BEGIN')) return { error: derError() };
  if (input.includes('\0')) return { error: nulError() };
  return { text: input };
}

function containsBegin(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes('-----BEGIN');
}

function looksLikeDer(first: number | undefined, second: number | undefined): boolean {
  return first === 0x30 && second !== undefined && second >= 0x80 && second <= 0x84;
}

function tooLarge(): Finding {
  return finding('pem-too-large', `the upload is larger than ${MAX_INPUT_BYTES} bytes; a bundle is a private key and at most 10 certificates, so upload only those`);
}

function derError(): Finding {
  return finding('pem-der', 'the upload is binary DER, not PEM text; convert it with `openssl x509 -inform der -in cert.der -out cert.pem` (or `openssl pkey -inform der` for a key) and upload the PEM');
}

function nulError(): Finding {
  return finding('pem-nul', 'the upload contains NUL bytes, so it is not PEM text; upload the PEM files as they are written by openssl');
}

/**
 * Splits a bundle into PEM blocks. Lenient about layout (BOM, CRLF/CR, indentation, blank lines, text
 * between blocks: warnings), strict about content (labels, base64, END lines: errors). Linear time.
 */
export function splitPem(input: string | Uint8Array): PemSplit {
  const warnings: Finding[] = [];
  const decoded = decodeInput(input);
  if ('error' in decoded) return { ok: false, errors: [decoded.error], warnings };
  let text = decoded.text;

  if (text.charCodeAt(0) === 0xfeff) {
    text = text.slice(1);
    warnings.push(finding('normalised-text', 'removed the UTF-8 byte order mark at the start of the upload; nothing to fix'));
  }
  if (text.includes('\r')) {
    text = text.replace(/\r\n?/g, '\n');
    warnings.push(finding('normalised-text', 'converted Windows (CRLF) or old Mac (CR) line endings to LF; nothing to fix'));
  }

  const errors: Finding[] = [];
  const blocks: PemBlock[] = [];
  let open: { label: string; index: number; bodyStart: number; indented: boolean } | undefined;
  let outsideStart = 0;
  let outsideText = false;
  let indented = false;
  let count = 0;

  MARKER.lastIndex = 0;
  for (let m = MARKER.exec(text); m !== null; m = MARKER.exec(text)) {
    const kind = m[1];
    const label = (m[2] ?? '').trim();
    const markerIndented = isIndented(text, m.index);
    if (kind === 'BEGIN') {
      if (open) {
        errors.push(missingEnd(open.index, open.label));
      } else if (text.slice(outsideStart, m.index).trim() !== '') {
        outsideText = true;
      }
      count += 1;
      if (count > MAX_BLOCKS) {
        return {
          ok: false,
          errors: [finding('pem-too-many-blocks', `the upload has more than ${MAX_BLOCKS} PEM blocks; upload one private key and at most 10 certificates`)],
          warnings,
        };
      }
      open = { label, index: count, bodyStart: m.index + m[0].length, indented: markerIndented };
      continue;
    }
    if (!open) {
      errors.push(finding('pem-syntax', `an END line for ${describeLabel(label)} appears without a BEGIN line before it (after block ${count}); copy the whole block, from its BEGIN line to its END line`));
      outsideStart = m.index + m[0].length;
      continue;
    }
    const current = open;
    open = undefined;
    outsideStart = m.index + m[0].length;
    if (label !== current.label) {
      errors.push(finding('pem-label-mismatch', `block ${current.index} begins as ${describeLabel(current.label)} but ends as ${describeLabel(label)}; each block must end with the END line of its own type, so copy the blocks again in full`, current.index));
      continue;
    }
    const body = readBody(text.slice(current.bodyStart, m.index), current.index, current.label);
    if ('error' in body) {
      errors.push(body.error);
      continue;
    }
    if (body.indented || current.indented || markerIndented) indented = true;
    blocks.push({ index: current.index, label: current.label, der: body.der, headers: body.headers });
  }
  if (open) errors.push(missingEnd(open.index, open.label));
  else if (text.slice(outsideStart).trim() !== '') outsideText = true;

  if (count === 0) {
    return {
      ok: false,
      errors: [finding('pem-empty', 'the upload contains no PEM blocks; upload the private key and the certificates as PEM text (-----BEGIN ...----- lines)')],
      warnings,
    };
  }
  for (const block of blocks) {
    const problem = checkLabel(block);
    if (problem) errors.push(problem);
  }
  if (errors.length > 0) return { ok: false, errors, warnings };

  if (indented) warnings.push(finding('normalised-text', 'removed indentation from the PEM blocks; nothing to fix'));
  if (outsideText) {
    warnings.push(finding('normalised-text', 'ignored text outside the PEM blocks (such as Bag Attributes or an openssl -text dump); nothing to fix'));
  }
  const ignored = blocks.filter((b) => (IGNORED_LABELS as readonly string[]).includes(b.label));
  for (const block of ignored) {
    warnings.push(finding('normalised-text', `ignored block ${block.index} (${describeLabel(block.label)}), which a key does not need; nothing to fix`, block.index));
  }
  return { ok: true, blocks: blocks.filter((b) => !ignored.includes(b)), warnings };
}

function isIndented(text: string, at: number): boolean {
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  return at > lineStart && text.slice(lineStart, at).trim() === '';
}

function missingEnd(index: number, label: string): Finding {
  return finding('pem-missing-end', `block ${index} (${describeLabel(label)}) has no matching END line; copy the whole block, from its BEGIN line to its END line`, index);
}

function readBody(raw: string, index: number, label: string): { der: Buffer; headers: string[]; indented: boolean } | { error: Finding } {
  const lines = raw.split('\n');
  const headers: string[] = [];
  let data = '';
  let indented = false;
  let inHeaders = true;
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (inHeaders && /^[A-Za-z][A-Za-z0-9-]{0,40}:/.test(trimmed)) {
      headers.push(trimmed.slice(0, 200));
      continue;
    }
    inHeaders = false;
    if (trimmed !== line.replace(/[ \t]+$/, '')) indented = true;
    data += trimmed.replace(/[ \t]+/g, '');
  }
  if (headers.length > 0 && headers.some((h) => /^Proc-Type:\s*4,\s*ENCRYPTED/i.test(h))) {
    return { der: Buffer.alloc(0), headers, indented };
  }
  const damaged = (why: string): { error: Finding } => ({
    error: finding('pem-base64', `block ${index} (${describeLabel(label)}) has damaged base64 data (${why}); copy the block again in full, or export it again with openssl`, index),
  });
  if (data === '') return damaged('it is empty');
  if (!BASE64.test(data)) return damaged('it contains characters that are not base64');
  if (data.length % 4 !== 0) return damaged('its length is not a multiple of 4, so characters are missing');
  const der = Buffer.from(data, 'base64');
  if (!isOneElement(der)) return damaged('the decoded data is truncated or has extra bytes');
  return { der, headers, indented };
}

function checkLabel(block: PemBlock): Finding | undefined {
  const { label, index, headers } = block;
  if (label === CERTIFICATE_LABEL) {
    if (headers.length > 0) {
      return finding('pem-headers', `block ${index} (a certificate) has header lines after its BEGIN line; remove them so that only base64 lines remain`, index);
    }
    return undefined;
  }
  if ((KEY_LABELS as readonly string[]).includes(label) || label === ENCRYPTED_KEY_LABEL) return undefined;
  if ((IGNORED_LABELS as readonly string[]).includes(label)) return undefined;
  const hint = label === 'CERTIFICATE REQUEST' || label === 'NEW CERTIFICATE REQUEST'
    ? 'a certificate request is not a certificate: upload the certificate your CA issued for it'
    : label === 'TRUSTED CERTIFICATE'
      ? 'convert it with `openssl x509 -in cert.pem -out plain.pem` and upload the plain CERTIFICATE block'
      : label === 'PKCS7'
        ? 'extract the certificates with `openssl pkcs7 -print_certs -in chain.p7b` and upload those'
        : 'remove it; a bundle holds only one PRIVATE KEY block and CERTIFICATE blocks';
  return finding('pem-block-type', `block ${index} is ${describeLabel(label)}, which a bundle cannot hold; ${hint}`, index);
}
