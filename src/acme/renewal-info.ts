import { X509Certificate } from 'node:crypto';
import { readCertificateShell } from '../validation/certificate-shell.js';
import { keyIdentifiers } from '../validation/key-identifiers.js';
import { getJson } from './acme-http.js';
import type { RenewalWindow } from './renewal-policy.js';

const base64url = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');

/** RFC 9773 §4.1: base64url(authority key identifier) "." base64url(serial number DER content); undefined without an AKI. */
export function certificateId(certPem: string): string | undefined {
  const shell = readCertificateShell(new X509Certificate(certPem).raw);
  const ids = shell && keyIdentifiers(shell);
  if (!ids?.authorityKeyId) return undefined;
  return `${base64url(ids.authorityKeyId)}.${base64url(ids.serial)}`;
}

/** The directory's `renewalInfo` URL, or undefined when the CA offers no ARI. */
export async function renewalInfoUrl(directoryUrl: string): Promise<string | undefined> {
  const directory = await getJson(directoryUrl);
  if (directory.status !== 200 || typeof directory.data !== 'object' || directory.data === null) throw new Error(`ACME directory answered HTTP ${directory.status}`);
  const url = (directory.data as Record<string, unknown>).renewalInfo;
  return typeof url === 'string' && url.startsWith('https://') ? url : undefined;
}

/** The CA's suggested renewal window for one certificate, or undefined when it has none to give. */
export async function fetchRenewalWindow(url: string, certId: string): Promise<RenewalWindow | undefined> {
  const answer = await getJson(`${url.replace(/\/$/, '')}/${certId}`);
  if (answer.status !== 200) return undefined;
  const window = (answer.data as { suggestedWindow?: { start?: unknown; end?: unknown } } | null)?.suggestedWindow;
  const start = typeof window?.start === 'string' ? Date.parse(window.start) : NaN;
  const end = typeof window?.end === 'string' ? Date.parse(window.end) : NaN;
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) return undefined;
  return { start, end };
}
