import { finding, type Finding } from './findings.js';
import type { ParsedCertificate } from './parse-certificates.js';

/** SPEC rule 5 (valid now) and the 30-day expiry warning. */
export const EXPIRES_SOON_MS = 30 * 24 * 60 * 60 * 1000;

export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function checkValidity(cert: ParsedCertificate, now: number): Finding | undefined {
  const { notBefore, notAfter } = cert.details;
  if (now < notBefore.getTime()) {
    return finding('not-yet-valid', `${cert.label}: certificate is not valid before ${isoSeconds(notBefore)}; upload it after that time, or check the clock of the machine that issued it`, cert.block);
  }
  if (now > notAfter.getTime()) {
    return finding('expired', `${cert.label}: certificate expired on ${isoSeconds(notAfter)}; renew it (or get the current intermediate from your CA) and upload the new chain`, cert.block);
  }
  return undefined;
}

/** Only for certificates that are served and currently valid. */
export function checkExpiresSoon(cert: ParsedCertificate, now: number): Finding | undefined {
  const { notAfter } = cert.details;
  if (now <= notAfter.getTime() && notAfter.getTime() - now < EXPIRES_SOON_MS) {
    const days = Math.floor((notAfter.getTime() - now) / (24 * 60 * 60 * 1000));
    return finding('expires-soon', `${cert.label}: certificate expires on ${isoSeconds(notAfter)} (in ${days} day(s)); renew it soon`, cert.block);
  }
  return undefined;
}
