/* A module of its own, without the ASN.1 libraries describe-certificate.ts loads: the CLI names certificates in
   its output, and `hotcert --help` should not pay for a parser it does not use. */

/**
 * How a certificate is named to people: its subject, or, when the subject is empty (Let's Encrypt's
 * short-lived profile puts the identity in the subjectAltName only), its subjectAltName, else its serial.
 */
export function certificateName(summary: { subject: string; sans?: string[]; serial?: string }): string {
  if (summary.subject !== '') return summary.subject;
  if (summary.sans && summary.sans.length > 0) return `SAN ${summary.sans.join(', ')}`;
  return `serial ${summary.serial ?? 'unknown'}`;
}
