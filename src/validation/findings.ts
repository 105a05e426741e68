/** One problem (error) or remark (warning) about an uploaded bundle. Plain data: it crosses the worker boundary. */
export interface Finding {
  /** Short kebab-case rule name, stable: used for metrics labels and tests. */
  rule: RuleName;
  /** One sentence: what is wrong and how to fix it. Never contains key material or quoted input. */
  message: string;
  /** 1-based PEM block number in upload order, when the finding is about one block. */
  block?: number;
}

export function finding(rule: RuleName, message: string, block?: number): Finding {
  return block === undefined ? { rule, message } : { rule, message, block };
}

/** Every rule name validateBundle and the canary can report (errors and warnings). */
export const RULE_NAMES = [
  'pem-too-large', 'pem-der', 'pem-nul', 'pem-encoding', 'pem-empty', 'pem-syntax', 'pem-missing-end',
  'pem-label-mismatch', 'pem-base64', 'pem-headers', 'pem-block-type', 'pem-too-many-blocks', 'normalised-text',
  'key-missing', 'key-count', 'key-encrypted', 'key-invalid', 'weak-key', 'unsupported-key', 'ec-explicit-parameters', 'ed25519', 'normalised-key',
  'certificate-missing', 'certificate-invalid', 'key-mismatch', 'key-ambiguous',
  'chain-missing-intermediate', 'chain-unrelated', 'chain-loop', 'chain-too-long', 'chain-order',
  'duplicate-certificate', 'root-dropped', 'issued-by-root', 'self-signed-leaf', 'issuer-not-ca', 'issuer-key-usage', 'path-length',
  'not-yet-valid', 'expired', 'expires-soon', 'serial-not-positive',
  'leaf-is-ca', 'leaf-eku', 'leaf-key-usage', 'unknown-critical-extension', 'no-san', 'unsupported-san',
  'weak-signature', 'canary-handshake', 'internal',
] as const;

/** What the PKCS#12 (PFX) conversion before validateBundle can report. */
export const PKCS12_RULE_NAMES = ['pkcs12-invalid', 'pkcs12-iterations', 'pkcs12-unsupported', 'pkcs12-password', 'pkcs12-empty', 'normalised-pkcs12'] as const;

/** What the webhook trust store's own checks add to the bundle rules they share (webhook-ca-rules.ts). */
export const WEBHOOK_CA_RULE_NAMES = ['webhook-ca-not-certificate', 'webhook-ca-not-ca'] as const;

/** Every name a finding can carry: a closed set, so a misspelt rule is a type error, not a new metrics label. */
export type RuleName = (typeof RULE_NAMES)[number] | (typeof PKCS12_RULE_NAMES)[number] | (typeof WEBHOOK_CA_RULE_NAMES)[number];
