import { checkSignatureAlgorithm } from './algorithm-rules.js';
import { buildChain, checkOrder, findServerCertificate } from './chain-rules.js';
import { checkCriticalExtensions } from './critical-extensions.js';
import {
  describeCertificate,
  describeChainEntry,
  type CertificateSummary,
  type ChainEntry,
} from './describe-certificate.js';
import { finding, type Finding } from './findings.js';
import { createHash } from 'node:crypto';
import { checkKeyStrength, isKeyBlock, readGeneratedKey, readPrivateKey } from './key-rules.js';
import { checkServerCertificate } from './leaf-rules.js';
import { parseCertificates, type ParsedCertificate } from './parse-certificates.js';
import { CERTIFICATE_LABEL, encodePem, splitPem } from './pem-splitter.js';
import { checkCertificateStructure, checkSerialNumber } from './structure-rules.js';
import { checkExpiresSoon, checkValidity } from './validity-rules.js';

export interface NormalizedBundle {
  /** The private key as unencrypted PKCS#8 PEM. */
  keyPem: string;
  /** The server (leaf) certificate PEM. */
  certPem: string;
  /** Intermediates, leaf upwards; self-signed root and duplicates dropped. */
  chainPems: string[];
  certificate: CertificateSummary;
  /** Describes chainPems in the same order. */
  chain: ChainEntry[];
}

export interface ValidateOptions {
  /** ms since the epoch; default Date.now(). */
  now?: number | undefined;
  /**
   * Default true: an upload. False when re-checking a bundle hotcert stored itself (its self-signed default,
   * or a rollback target without intermediates, whose root was dropped at upload): a leaf served alone is
   * then neither warned about nor missing its issuer.
   */
  requireIntermediate?: boolean | undefined;
  /** A key hotcert generated for a CSR (PKCS#8 PEM), used when the upload itself holds no key. */
  pendingKeyPem?: string | undefined;
}

export type BundleValidation =
  | { ok: true; bundle: NormalizedBundle; warnings: Finding[] }
  | {
      ok: false;
      errors: Finding[];
      warnings: Finding[];
      /** Set when the upload holds no key: SHA-256 of each certificate's SubjectPublicKeyInfo, to find a pending CSR key. */
      keylessSpkiSha256?: string[];
    };

/** SPEC "What an upload must be", rules 1-7 (rule 8, the canary, is src/tls/canary.ts). Pure; never throws. */
export function validateBundle(input: string | Uint8Array, options: ValidateOptions = {}): BundleValidation {
  try {
    return validate(input, options.now ?? Date.now(), options.requireIntermediate ?? true, options.pendingKeyPem);
  } catch {
    return {
      ok: false,
      errors: [finding('internal', 'the bundle could not be checked because of an internal error; check that it is a valid PEM bundle and try again')],
      warnings: [],
    };
  }
}

function validate(input: string | Uint8Array, now: number, requireIntermediate: boolean, pendingKeyPem: string | undefined): BundleValidation {
  const split = splitPem(input);
  if (!split.ok) return split;
  const errors: Finding[] = [];
  const warnings: Finding[] = [...split.warnings];

  const keyless = !split.blocks.some(isKeyBlock);
  const key = keyless && pendingKeyPem !== undefined ? readGeneratedKey(pendingKeyPem) : readPrivateKey(split.blocks);
  errors.push(...key.errors);
  warnings.push(...key.warnings);

  const parsed = parseCertificates(split.blocks);
  errors.push(...parsed.errors);
  warnings.push(...parsed.warnings);
  if (!parsed.complete) return { ok: false, errors, warnings };

  const server = findServerCertificate(parsed.certificates, key.key, key.block);
  errors.push(...server.errors);
  const leaf = server.leaf;
  if (!leaf) return { ok: false, errors, warnings };

  const candidates = parsed.certificates.filter((c) => !server.alsoMatching.includes(c));
  const built = buildChain(leaf, candidates, requireIntermediate);
  errors.push(...built.errors);
  warnings.push(...built.warnings);
  const served = built.chain.filter((c) => c !== built.root);

  for (const cert of built.chain) {
    const validity = checkValidity(cert, now);
    if (validity) errors.push(validity);
  }
  const leafRules = checkServerCertificate(leaf);
  errors.push(...leafRules.errors);
  warnings.push(...leafRules.warnings);
  for (const cert of served) {
    errors.push(...checkCertificateStructure(cert));
    errors.push(...checkCriticalExtensions(cert));
    const signature = checkSignatureAlgorithm(cert);
    if (signature) errors.push(signature);
    if (cert !== leaf || !key.key) {
      const strength = checkKeyStrength(cert.publicKey, `the public key of ${cert.label}`, cert.block);
      if (strength.error) errors.push(strength.error);
      if (strength.warning && cert === leaf) warnings.push(strength.warning);
    }
  }
  for (const cert of served) {
    const soon = checkExpiresSoon(cert, now);
    if (soon) warnings.push(soon);
    const serial = checkSerialNumber(cert);
    if (serial) warnings.push(serial);
  }
  const order = checkOrder(key.block, built.chain);
  if (order) warnings.push(order);

  if (errors.length > 0 || !key.keyPem) {
    const spkis = keyless && pendingKeyPem === undefined ? parsed.certificates.map(spkiSha256) : undefined;
    return { ok: false, errors, warnings, ...(spkis ? { keylessSpkiSha256: spkis } : {}) };
  }
  const intermediates = served.slice(1);
  return {
    ok: true,
    bundle: {
      keyPem: key.keyPem,
      certPem: toPem(leaf),
      chainPems: intermediates.map(toPem),
      certificate: describeCertificate(leaf.x509, leaf.details),
      chain: intermediates.map((c) => describeChainEntry(c.x509, c.details)),
    },
    warnings,
  };
}

const toPem = (cert: ParsedCertificate): string => encodePem(CERTIFICATE_LABEL, cert.x509.raw);

const spkiSha256 = (cert: ParsedCertificate): string =>
  createHash('sha256').update(cert.x509.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
