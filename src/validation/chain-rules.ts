import type { KeyObject } from 'node:crypto';
import { formatName } from './describe-certificate.js';
import { finding, type Finding } from './findings.js';
import { keyIdentifiersMatch } from './key-identifiers.js';
import { isSelfSigned, issuedBy, type ParsedCertificate } from './parse-certificates.js';

/** SPEC rules 3 and 4: which certificate is the server's, and the one chain above it. */
export const DOCUMENTED_ORDER = 'private key, server certificate, then intermediates from the leaf upwards';

export interface ServerCertificateResult {
  leaf?: ParsedCertificate | undefined;
  /** Other certificates the key matches (already reported): not chain candidates. */
  alsoMatching: ParsedCertificate[];
  errors: Finding[];
}

/** Rule 3: the key matches exactly one certificate. Without a usable key, guesses the leaf so other rules still report. */
export function findServerCertificate(certs: ParsedCertificate[], key: KeyObject | undefined, keyBlock: number | undefined): ServerCertificateResult {
  if (certs.length === 0) return { alsoMatching: [], errors: [] };
  if (!key) return { leaf: guessLeaf(certs), alsoMatching: [], errors: [] };
  const matches = certs.filter((c) => {
    try {
      return c.x509.checkPrivateKey(key);
    } catch {
      return false;
    }
  });
  const keyName = keyBlock === undefined ? 'the private key' : `the private key (block ${keyBlock})`;
  if (matches.length === 0) {
    return {
      alsoMatching: [],
      errors: [finding('key-mismatch', `${keyName} belongs to none of the certificates; upload the key together with the server certificate that was issued for it`, keyBlock)],
    };
  }
  if (matches.length > 1) {
    const list = matches.map((c) => c.label).join(', ');
    return {
      leaf: matches[0],
      alsoMatching: matches.slice(1),
      errors: [finding('key-ambiguous', `${keyName} matches ${matches.length} different certificates (${list}); keep only the current server certificate`, matches[1]!.block)],
    };
  }
  return { leaf: matches[0], alsoMatching: [], errors: [] };
}

/** basicConstraints CA:TRUE, read directly: node's `x509.ca` is also false when key usage lacks keyCertSign. */
export function isCa(cert: ParsedCertificate): boolean {
  return cert.details.basicConstraints?.ca === true;
}

function guessLeaf(certs: ParsedCertificate[]): ParsedCertificate {
  const issuesNothing = certs.filter((c) => !certs.some((other) => other !== c && issuedBy(other, c)));
  return issuesNothing.find((c) => !isCa(c)) ?? issuesNothing[0] ?? certs[0]!;
}

export interface ChainResult {
  /** Leaf first, then each issuer; may end with a self-signed root. */
  chain: ParsedCertificate[];
  /** The self-signed root at the top, when there is one above the leaf: not served. */
  root?: ParsedCertificate;
  errors: Finding[];
  warnings: Finding[];
}

/**
 * Rule 4: builds the single chain above the leaf; anything left over is an error. A leaf issued directly by a
 * root in the bundle (two-tier PKI) and a self-signed leaf alone are accepted with a warning; a missing issuer
 * is an error. `uploaded` is false when re-checking a bundle hotcert stored itself (its self-signed default,
 * or a rollback target without intermediates, whose root was dropped at upload): no such warnings, and a
 * leaf alone is fine.
 */
export function buildChain(leaf: ParsedCertificate, certs: ParsedCertificate[], uploaded: boolean): ChainResult {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const chain = [leaf];
  let remaining = certs.filter((c) => c !== leaf);
  let current = leaf;
  while (!isSelfSigned(current)) {
    const top = current;
    const candidates = remaining.filter((c) => issuedBy(top, c));
    if (candidates.length === 0) {
      const earlier = chain.find((c) => c !== top && issuedBy(top, c));
      if (earlier) {
        errors.push(finding('chain-loop', `${top.label} was issued by ${earlier.label}, which is already lower in the chain, so the chain loops; remove the cross-signed certificate that closes the loop`, top.block));
      }
      break;
    }
    const next = candidates.find((c) => !isSelfSigned(c)) ?? candidates[0]!;
    chain.push(next);
    remaining = remaining.filter((c) => c !== next);
    current = next;
  }

  const top = chain[chain.length - 1]!;
  const root = chain.length > 1 && isSelfSigned(top) ? top : undefined;
  for (const cert of remaining) {
    errors.push(finding('chain-unrelated', `${cert.label} is not part of the chain above the server certificate ${leaf.label} (it issued none of its certificates); remove it, or add the missing intermediate that links it`, cert.block));
  }
  const served = chain.length - 1 - (root ? 1 : 0);
  if (served === 0 && root && uploaded) {
    warnings.push(finding('issued-by-root', `the server certificate ${leaf.label} was issued directly by the root ${root.label} (a two-tier PKI), so it is served alone; clients must have that root in their trust store`, leaf.block));
  } else if (served === 0 && !root && isSelfSigned(leaf)) {
    if (uploaded) {
      warnings.push(finding('self-signed-leaf', `the server certificate ${leaf.label} is self-signed, so clients must be told to trust this very certificate (e.g. curl --cacert); use a certificate issued by a CA to avoid that`, leaf.block));
    }
  } else if (chain.length === 1 && !isSelfSigned(leaf) && (uploaded || remaining.length > 0)) {
    errors.push(missingIssuer(leaf));
  }
  if (root) {
    warnings.push(finding('root-dropped', `${root.label} is a self-signed root certificate and is not served (clients must already trust it); nothing to fix`, root.block));
  }
  errors.push(...checkIssuers(chain));
  return root ? { chain, root, errors, warnings } : { chain, errors, warnings };
}

function missingIssuer(leaf: ParsedCertificate): Finding {
  return finding('chain-missing-intermediate', `the server certificate ${leaf.label} was issued by ${formatName(leaf.x509.issuer) || 'an empty issuer name'}, which is not in the upload; add the intermediate certificate(s) from your CA after the server certificate (or, if that issuer is your CA's root, the root itself)`, leaf.block);
}

/** Every issuer is a CA, may sign certificates, and its path length constraint holds. */
export function checkIssuers(chain: ParsedCertificate[]): Finding[] {
  const errors: Finding[] = [];
  for (let i = 1; i < chain.length; i += 1) {
    const issuer = chain[i]!;
    const child = chain[i - 1]!;
    if (!isCa(issuer)) {
      errors.push(finding('issuer-not-ca', `${issuer.label} issued ${child.label} but is not a CA (basicConstraints CA:TRUE is missing); use the intermediate certificate your CA publishes for this chain`, issuer.block));
    }
    if (!keyIdentifiersMatch(child.keyIds, issuer.keyIds)) {
      errors.push(finding('chain-missing-intermediate', `${child.label} names a different issuer key (authorityKeyIdentifier) than the subjectKeyIdentifier of ${issuer.label}, so TLS clients will not link them; use the intermediate certificate your CA publishes for this chain`, child.block));
    }
    const keyUsage = issuer.details.keyUsage;
    if (keyUsage && !keyUsage.includes('keyCertSign')) {
      errors.push(finding('issuer-key-usage', `${issuer.label} issued ${child.label} but its key usage does not allow certificate signing (keyCertSign); use the intermediate certificate your CA publishes for this chain`, issuer.block));
    }
    const pathLen = issuer.details.basicConstraints?.pathLen;
    const below = chain.slice(1, i).filter((c) => !c.selfIssued).length;
    if (pathLen !== undefined && below > pathLen) {
      errors.push(finding('path-length', `${issuer.label} allows at most ${pathLen} intermediate certificate(s) below it (pathlen) but ${below} follow; remove the extra intermediates or use the chain your CA publishes`, issuer.block));
    }
  }
  return errors;
}

/** Warning when the upload order differs from the documented one (the stored order is always the documented one). */
export function checkOrder(keyBlock: number | undefined, chain: ParsedCertificate[]): Finding | undefined {
  const expected = [...(keyBlock === undefined ? [] : [keyBlock]), ...chain.map((c) => c.block)];
  const uploaded = [...expected].sort((a, b) => a - b);
  if (expected.every((block, i) => block === uploaded[i])) return undefined;
  return finding('chain-order', `the blocks were not in the order ${DOCUMENTED_ORDER} (expected blocks ${expected.join(', ')} in that order); they are stored in that order, nothing to fix`);
}
