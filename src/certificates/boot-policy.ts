import type { CertificateStore } from '../db/ports.js';
import type { Logger } from 'pino';

import type { TicketKeyStore } from '../tls/ticket-keys.js';
import type { Finding } from '../validation/findings.js';
import type { NormalizedBundle } from '../validation/validate-bundle.js';
import type { Activation } from './activation.js';
import { notAfterOf, tryLoadIdentity } from './stored-identity.js';

export interface BootPolicyDeps {
  repo: Pick<CertificateStore, 'state' | 'history'>;
  activation: Activation;
  masterKey: Buffer;
  ticketKeys?: TicketKeyStore | undefined;
  /** A new self-signed default (validated in this thread: boot runs before anything listens). */
  createDefault: () => Promise<{ bundle: NormalizedBundle; warnings: Finding[] }>;
  clock: () => number;
  logger: Logger;
}

/**
 * SPEC §5: serve the active version; if it cannot be served, the newest usable earlier one (not
 * expired), else a new self-signed default; a fallback is logged, audited and shown in health.
 * Every outcome is applied by activation.ts.
 */
export async function bootCertificate(deps: BootPolicyDeps): Promise<{ fallbackReason: string | null }> {
  const { repo, activation, logger } = deps;
  const [state, history] = await Promise.all([repo.state(), repo.history()]);
  const active = history.find((row) => row.version === state.activeVersion);
  if (!active) {
    const reason = state.activeVersion === null ? null : `active version ${state.activeVersion} is missing`;
    const { bundle, warnings } = await deps.createDefault();
    await activation.activate({
      target: { bundle, warnings, source: 'default' },
      way: reason ? 'fallback' : 'boot',
      context: { actor: 'system' },
      fallbackReason: reason,
      action: reason ? 'certificate.fallback' : 'certificate.default',
    });
    return { fallbackReason: reason };
  }

  const loaded = tryLoadIdentity(active, deps.masterKey);
  if ('identity' in loaded) {
    const ticketKeys = await deps.ticketKeys?.readOrCreate();
    await activation.serialized(() => activation.applyCommitted(active, loaded.identity, state.generation, state.fallbackReason, 'boot', ticketKeys));
    return { fallbackReason: state.fallbackReason };
  }

  const reason = `version ${active.version} cannot be served: ${loaded.problem}`;
  logger.error({ event: 'certificate.unusable', version: active.version, reason }, 'active certificate cannot be served; falling back');
  for (const row of history) {
    if (row.version === active.version || notAfterOf(row) < deps.clock()) continue;
    const candidate = tryLoadIdentity(row, deps.masterKey);
    if (!('identity' in candidate)) continue;
    await activation.activate({
      target: { stored: row, identity: candidate.identity },
      way: 'fallback',
      context: { actor: 'system' },
      action: 'certificate.fallback',
      auditDetails: { from_version: active.version, to_version: row.version, reason },
      fallbackReason: reason,
    });
    logger.warn({ event: 'certificate.fallback', version: row.version, fingerprint_sha256: row.fingerprint, reason }, 'fallback at boot');
    return { fallbackReason: reason };
  }
  const { bundle, warnings } = await deps.createDefault();
  await activation.activate({ target: { bundle, warnings, source: 'default' }, way: 'fallback', context: { actor: 'system' }, fallbackReason: reason, action: 'certificate.fallback' });
  logger.warn({ event: 'certificate.fallback', reason }, 'fallback at boot to a new self-signed certificate');
  return { fallbackReason: reason };
}
