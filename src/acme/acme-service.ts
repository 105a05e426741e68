import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import type { ChangeContext } from '../certificates/certificate-service.js';
import type { CertificateVersionView } from '../certificates/version-view.js';
import type { createAcmeChallengesRepo } from '../db/acme-challenges-repo.js';
import type { AcmeAccountRepo } from '../db/acme-account-repo.js';
import type { AcmeRenewalRepo, AcmeRenewalRow } from '../db/acme-renewal-repo.js';
import type { AuditStore } from '../db/ports.js';
import { DomainError } from '../domain-errors.js';
import type { EventBus } from '../events/events.js';
import type { Metrics } from '../observability/metrics.js';
import { seal, unseal } from '../secrets/seal.js';
import { AcmeConfigError, challengeOf, parseAcmeSettings, publicSettings, type AcmeConfig, type AcmeConfigOrigin, type AcmeInput } from './acme-config.js';
import { configureAcmeHttp, type RequestRetry } from './acme-http.js';
import { challengeKeyContext } from './challenge-responder.js';
import { generateKey, issueCertificate, type ChallengeStore } from './issue-certificate.js';
import { certificateId, fetchRenewalWindow, renewalInfoUrl } from './renewal-info.js';
import { renewalTime, renewalTimeWithWindow, retryDelay, type BackoffOptions, type RenewalWindow } from './renewal-policy.js';
import { sealContexts } from '../secrets/seal-contexts.js';

const ACCOUNT_CONTEXT = sealContexts.acmeAccount;
const CONFIG_CONTEXT = sealContexts.acmeConfig;
/** How long a pending challenge may be answered (the CA validates within seconds; orders live for hours). */
const CHALLENGE_TTL_MS = 60 * 60 * 1000;

/**
 * acme: this process's identity comes from ACME and is renewed; manual: an admin's certificate that
 * covers the domains is active, ACME leaves it alone; off: ACME is not configured.
 */
export type AcmeMode = 'acme' | 'manual' | 'off';

export interface AcmeServiceDeps {
  envConfig: AcmeConfig | undefined;
  accounts: AcmeAccountRepo;
  renewal: AcmeRenewalRepo;
  challenges: ReturnType<typeof createAcmeChallengesRepo>;
  certificates: {
    upload(pem: string, context: ChangeContext, options: { source: 'acme' }): Promise<{ view: CertificateVersionView }>;
    /** The served version; DomainError `not-ready` before the first activation. */
    active(): Promise<CertificateVersionView>;
  };
  audit: AuditStore;
  metrics?: Metrics | undefined;
  events?: EventBus | undefined;
  masterKey: Buffer;
  clock: () => number;
  logger: Logger;
  random?: () => number;
  /** A renewal that takes longer than this frees the lease for another process (it crashed). */
  leaseMs?: number | undefined;
  backoff?: Partial<BackoffOptions> | undefined;
  /** How often the CA's renewal information is asked again (RFC 9773 suggests a few times a day). */
  renewalInfoIntervalMs?: number | undefined;
  /** Told whether TLS-ALPN-01 challenges may come (the listener then reads each ClientHello first). */
  onTlsAlpnChange?: ((enabled: boolean) => void) | undefined;
  /** acme-client's polling of challenge and order status. */
  pollMs?: number | undefined;
  /** Timeout and retries of each request to the CA. */
  requestRetry?: RequestRetry | undefined;
}

interface StoredAccount {
  directoryUrl: string;
  keyPem: string;
  accountUrl?: string | undefined;
}

export interface AttemptResult {
  renewed: boolean;
  version: number | null;
  error: string | null;
}

/** ACME issuance and renewal on hotcert's one upload pipeline: scheduling, the fleet lease, and what it reports. */
export function createAcmeService(deps: AcmeServiceDeps) {
  const { accounts, renewal, challenges, certificates, audit, masterKey, clock, logger } = deps;
  const random = deps.random ?? Math.random;
  const holder = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const leaseMs = deps.leaseMs ?? 10 * 60 * 1000;
  const backoff: BackoffOptions = { baseMs: deps.backoff?.baseMs ?? 60_000, capMs: deps.backoff?.capMs ?? 6 * 60 * 60 * 1000 };
  const renewalInfoIntervalMs = deps.renewalInfoIntervalMs ?? 6 * 60 * 60 * 1000;
  let running: Promise<AttemptResult> | undefined;
  let agentFor: string | undefined | null = null;
  let renewalInfoCheckedAt = 0;
  let httpPortListener: ((port: number | undefined) => void) | undefined;

  const challengeStore: ChallengeStore = {
    async putHttp(token, domain, keyAuthorization) {
      const now = clock();
      await challenges.put({ token, type: 'http-01', domain, keyAuthorization, certPem: null, keySealed: null, createdAt: now, expiresAt: now + CHALLENGE_TTL_MS });
    },
    async putTlsAlpn(token, domain, keyAuthorization, certPem, keyPem) {
      const now = clock();
      const keySealed = seal(masterKey, keyPem, challengeKeyContext(token));
      await challenges.put({ token, type: 'tls-alpn-01', domain, keyAuthorization, certPem, keySealed, createdAt: now, expiresAt: now + CHALLENGE_TTL_MS });
    },
    remove: (token) => challenges.remove(token),
  };

  /** The admin's stored configuration wins over the environment; a stored one that no longer parses is reported. */
  async function effectiveConfig(): Promise<{ config: AcmeConfig; origin: AcmeConfigOrigin } | { config: undefined; origin: AcmeConfigOrigin | undefined; problem?: string }> {
    const sealed = await accounts.storedConfig();
    if (sealed) {
      const stored = JSON.parse(unseal(masterKey, sealed, CONFIG_CONTEXT)) as AcmeInput | { disabled: true };
      if ('disabled' in stored) return { config: undefined, origin: 'api' };
      try {
        return { config: parseAcmeSettings(stored, apiNames), origin: 'api' };
      } catch (error) {
        if (error instanceof AcmeConfigError) return { config: undefined, origin: 'api', problem: `stored ACME configuration is unusable: ${error.message}` };
        throw error;
      }
    }
    return deps.envConfig ? { config: deps.envConfig, origin: 'env' } : { config: undefined, origin: undefined };
  }

  /** Follows the effective configuration: TLS-ALPN-01 routing on only while it is the challenge in use. */
  function announceChallenge(config: AcmeConfig | undefined): void {
    deps.onTlsAlpnChange?.(config !== undefined && challengeOf(config) === 'tls-alpn-01');
  }

  function useAgentFor(config: AcmeConfig): void {
    if (agentFor === config.directoryCaPem) return;
    configureAcmeHttp(config.directoryCaPem, deps.requestRetry);
    agentFor = config.directoryCaPem;
  }

  // One row, not the whole history: this runs on every scheduler tick and every health probe.
  const activeVersion = () =>
    certificates.active().catch((error: unknown) => {
      if (error instanceof DomainError && error.kind === 'not-ready') return undefined;
      throw error;
    });

  /** A certificate names a domain when a SAN equals it or is a wildcard one label above it. */
  const covers = (version: CertificateVersionView, domains: string[]) =>
    domains.every((domain) => version.sans.some((san) => san.toLowerCase() === domain || (san.startsWith('*.') && domain.slice(domain.indexOf('.') + 1) === san.slice(2).toLowerCase())));

  function modeOf(config: AcmeConfig | undefined, active: CertificateVersionView | undefined): AcmeMode {
    if (!config) return 'off';
    if (active && active.source !== 'acme' && covers(active, config.domains)) return 'manual';
    return 'acme';
  }

  /** When the active certificate should be renewed, before any failure pushes it back. */
  function plannedTime(active: CertificateVersionView | undefined, config: AcmeConfig, row: AcmeRenewalRow | undefined, now: number): number {
    if (!active || active.source !== 'acme' || !covers(active, config.domains)) return now;
    if (row?.lastVersion === active.version && row.nextAttemptAt !== null && row.failures === 0) return row.nextAttemptAt;
    return renewalTime(Date.parse(active.not_before), Date.parse(active.not_after), random());
  }

  async function loadAccountKey(config: AcmeConfig): Promise<string> {
    const sealed = await accounts.account();
    if (sealed) {
      const stored = JSON.parse(unseal(masterKey, sealed, ACCOUNT_CONTEXT)) as StoredAccount;
      if (stored.directoryUrl === config.directoryUrl) return stored.keyPem;
      // Another CA: a new account there; the old key is not reused across CAs.
      const replacement: StoredAccount = { directoryUrl: config.directoryUrl, keyPem: generateKey('ec-p256') };
      await accounts.replaceAccount(seal(masterKey, JSON.stringify(replacement), ACCOUNT_CONTEXT));
      return replacement.keyPem;
    }
    const created: StoredAccount = { directoryUrl: config.directoryUrl, keyPem: generateKey('ec-p256') };
    const stored = JSON.parse(unseal(masterKey, await accounts.putAccountIfAbsent(seal(masterKey, JSON.stringify(created), ACCOUNT_CONTEXT)), ACCOUNT_CONTEXT)) as StoredAccount;
    return stored.keyPem;
  }

  async function rememberAccountUrl(config: AcmeConfig, accountUrl: string): Promise<void> {
    const sealed = await accounts.account();
    if (!sealed) return;
    const stored = JSON.parse(unseal(masterKey, sealed, ACCOUNT_CONTEXT)) as StoredAccount;
    if (stored.directoryUrl !== config.directoryUrl || stored.accountUrl === accountUrl) return;
    await accounts.replaceAccount(seal(masterKey, JSON.stringify({ ...stored, accountUrl }), ACCOUNT_CONTEXT));
  }

  async function accountUrl(config: AcmeConfig | undefined): Promise<string | null> {
    const sealed = await accounts.account();
    if (!sealed || !config) return null;
    const stored = JSON.parse(unseal(masterKey, sealed, ACCOUNT_CONTEXT)) as StoredAccount;
    return stored.directoryUrl === config.directoryUrl ? (stored.accountUrl ?? null) : null;
  }

  /** RFC 9773 window for a certificate, when the CA offers renewal information; failures only log (the plan stands). */
  async function renewalWindow(config: AcmeConfig, certId: string | null | undefined): Promise<RenewalWindow | undefined> {
    if (!certId) return undefined;
    try {
      const url = await renewalInfoUrl(config.directoryUrl);
      return url ? await fetchRenewalWindow(url, certId) : undefined;
    } catch (error) {
      logger.warn({ event: 'acme.renewal_info_failed', error_name: (error as Error).name, message: (error as Error).message }, 'renewal information could not be read; keeping the planned time');
      return undefined;
    }
  }

  /** One attempt, holding the lease: order, upload through the pipeline, record the outcome. */
  async function attempt(config: AcmeConfig, trigger: 'schedule' | 'api', context: ChangeContext): Promise<AttemptResult> {
    const started = clock();
    const row = await renewal.state();
    useAgentFor(config);
    logger.info({ event: 'acme.renewal_started', trigger, domains: config.domains }, 'ACME renewal started');
    try {
      const accountKeyPem = await loadAccountKey(config);
      const issued = await issueCertificate({ config, accountKeyPem, challenges: challengeStore, pollMs: deps.pollMs });
      await rememberAccountUrl(config, issued.accountUrl);
      const { view } = await certificates.upload(issued.pemBundle, { actor: context.actor, address: context.address }, { source: 'acme' });
      const certId = certificateId(issued.certPem) ?? null;
      const now = clock();
      const planned = renewalTime(Date.parse(view.not_before), Date.parse(view.not_after), random());
      const next = renewalTimeWithWindow(planned, await renewalWindow(config, certId), now, random());
      renewalInfoCheckedAt = now;
      await renewal.release(holder, { nextAttemptAt: next, failures: 0, lastAttemptAt: started, lastError: null, lastSuccessAt: now, lastVersion: view.version, certId });
      deps.metrics?.acmeAttempt('success', 0);
      await audit.record({ actor: context.actor, clientAddress: context.address, action: 'acme.renewed', fingerprint: view.fingerprint_sha256, details: { version: view.version, domains: config.domains, trigger, next_attempt_at: new Date(next).toISOString() } });
      logger.info({ event: 'acme.renewed', version: view.version, fingerprint_sha256: view.fingerprint_sha256, next_attempt_at: new Date(next).toISOString() }, 'ACME certificate activated');
      deps.events?.emit({ type: 'acme.renewed', version: view.version, fingerprint_sha256: view.fingerprint_sha256, domains: config.domains, not_after: view.not_after });
      return { renewed: true, version: view.version, error: null };
    } catch (error) {
      const message = describeFailure(error);
      const failures = (row?.failures ?? 0) + 1;
      const next = clock() + retryDelay(failures, backoff, random());
      await renewal.release(holder, { nextAttemptAt: next, failures, lastAttemptAt: started, lastError: message });
      deps.metrics?.acmeAttempt('failure', failures);
      await audit.record({ actor: context.actor, clientAddress: context.address, action: 'acme.renewal_failed', details: { domains: config.domains, trigger, error: message, failures, next_attempt_at: new Date(next).toISOString() } });
      logger.error({ event: 'acme.renewal_failed', error: message, failures, next_attempt_at: new Date(next).toISOString() }, 'ACME renewal failed; the current certificate stays');
      deps.events?.emit({ type: 'acme.renewal_failed', domains: config.domains, error: message, next_attempt_at: new Date(next).toISOString() });
      return { renewed: false, version: null, error: message };
    }
  }

  /** Takes the lease (or says who has it) and runs one attempt; one at a time in this process too. */
  async function run(config: AcmeConfig, trigger: 'schedule' | 'api', context: ChangeContext): Promise<AttemptResult | 'leased'> {
    if (running) return 'leased';
    if (!(await renewal.acquire(holder, clock(), leaseMs))) {
      logger.info({ event: 'acme.lease_busy', trigger }, 'another process holds the ACME renewal lease; not renewing here');
      return 'leased';
    }
    running = attempt(config, trigger, context);
    try {
      return await running;
    } finally {
      running = undefined;
    }
  }

  async function status() {
    const effective = await effectiveConfig();
    const row = await renewal.state();
    const active = await activeVersion();
    const mode = modeOf(effective.config, active);
    const now = clock();
    const next = mode === 'acme' && effective.config ? (row && row.failures > 0 && row.nextAttemptAt !== null ? row.nextAttemptAt : plannedTime(active, effective.config, row, now)) : null;
    return {
      configured: effective.config !== undefined,
      origin: effective.origin ?? null,
      mode,
      ...(('problem' in effective && effective.problem) ? { problem: effective.problem } : {}),
      config: effective.config ? publicSettings(effective.config) : null,
      account_url: await accountUrl(effective.config),
      active_version: active?.version ?? null,
      active_source: active?.source ?? null,
      next_renewal_at: next === null ? null : new Date(next).toISOString(),
      renewing: row?.leaseHolder && (row.leaseExpiresAt ?? 0) > now ? true : false,
      last_attempt_at: row?.lastAttemptAt ? new Date(row.lastAttemptAt).toISOString() : null,
      last_error: row?.lastError ?? null,
      last_success_at: row?.lastSuccessAt ? new Date(row.lastSuccessAt).toISOString() : null,
      consecutive_failures: row?.failures ?? 0,
    };
  }

  return {
    holder,
    status,

    /** The `acme` section of /v1/health: null when ACME is off. */
    async health() {
      const current = await status();
      if (current.mode === 'off') return current.problem ? { status: 'misconfigured', mode: 'off', reason: current.problem } : null;
      return {
        status: current.consecutive_failures > 0 ? 'failing' : 'ok',
        mode: current.mode,
        domains: current.config?.domains ?? [],
        next_renewal_at: current.next_renewal_at,
        last_attempt_at: current.last_attempt_at,
        last_error: current.last_error,
        consecutive_failures: current.consecutive_failures,
      };
    },

    /** `POST …/acme/renew`: an order now, whatever the schedule or mode says (the newest activation wins). */
    async renewNow(context: ChangeContext): Promise<AttemptResult> {
      const { config, ...rest } = await effectiveConfig();
      announceChallenge(config);
      if (!config) throw new DomainError('invalid-input', 'problem' in rest && rest.problem ? rest.problem : 'ACME is not configured: set ACME_DIRECTORY_URL and ACME_DOMAINS, or PUT /v1/certificates/acme');
      const result = await run(config, 'api', context);
      if (result === 'leased') throw new DomainError('conflict', 'an ACME renewal is already running (in this or another process sharing the database); read GET /v1/certificates/acme and try later');
      return result;
    },

    /** Called by the scheduler: renews when due, and only in the process holding the lease. */
    async tick(): Promise<void> {
      const { config } = await effectiveConfig();
      announceChallenge(config);
      // Another process may have changed http_port through the API: every process follows.
      httpPortListener?.(config?.httpPort);
      const now = clock();
      await challenges.purgeExpired(now);
      if (!config) return;
      const active = await activeVersion();
      if (modeOf(config, active) !== 'acme') return;
      const row = await renewal.state();
      let due: number;
      if (row && row.failures > 0 && row.nextAttemptAt !== null) due = row.nextAttemptAt;
      else due = plannedTime(active, config, row, now);
      // Refresh the CA's advice now and then; it may only bring the renewal forward.
      if (due > now && active?.source === 'acme' && row?.certId && row.failures === 0 && now - renewalInfoCheckedAt >= renewalInfoIntervalMs) {
        renewalInfoCheckedAt = now;
        useAgentFor(config);
        const earlier = renewalTimeWithWindow(due, await renewalWindow(config, row.certId), now, random());
        if (earlier < due) {
          await renewal.schedule({ nextAttemptAt: earlier });
          due = earlier;
        }
      }
      if (now < due) return;
      await run(config, 'schedule', { actor: 'acme' });
    },

    /** The admin's configuration, checked like the environment's; PATCH merges into the current one. */
    async configure(input: AcmeInput, merge: boolean, context: ChangeContext) {
      const current = await effectiveConfig();
      const base = merge && current.config ? toInput(current.config) : {};
      const merged: AcmeInput = { ...base, ...input };
      let parsed: AcmeConfig;
      try {
        parsed = parseAcmeSettings(merged, apiNames);
      } catch (error) {
        if (error instanceof AcmeConfigError) throw new DomainError('invalid-input', error.message);
        throw error;
      }
      await accounts.putConfig(seal(masterKey, JSON.stringify(toInput(parsed)), CONFIG_CONTEXT));
      // A new configuration starts a fresh schedule: the next tick decides from the active certificate.
      await renewal.schedule({ nextAttemptAt: null, failures: 0, lastError: null });
      await audit.record({ actor: context.actor, clientAddress: context.address, action: 'acme.configured', details: { ...publicSettings(parsed) } });
      logger.info({ event: 'acme.configured', actor: context.actor, domains: parsed.domains, directory_url: parsed.directoryUrl }, 'ACME configuration changed');
      httpPortListener?.(parsed.httpPort);
      announceChallenge(parsed);
      return status();
    },

    /** DELETE: back to the environment's configuration (or off when it has none). */
    async resetConfiguration(context: ChangeContext) {
      await accounts.removeConfig();
      await renewal.schedule({ nextAttemptAt: null, failures: 0, lastError: null });
      await audit.record({ actor: context.actor, clientAddress: context.address, action: 'acme.configuration_reset', details: {} });
      httpPortListener?.(deps.envConfig?.httpPort);
      announceChallenge(deps.envConfig);
      return status();
    },

    /** The HTTP-01 listener follows the configured port (instance.ts starts and stops it). */
    async httpPort(): Promise<number | undefined> {
      return (await effectiveConfig()).config?.httpPort;
    },
    onHttpPortChange(listener: (port: number | undefined) => void): void {
      httpPortListener = listener;
    },
  };
}

export type AcmeService = ReturnType<typeof createAcmeService>;

const apiNames = (field: keyof AcmeInput) => field;

function toInput(config: AcmeConfig): AcmeInput {
  return {
    directory_url: config.directoryUrl,
    email: config.email,
    domains: config.domains,
    directory_ca_file: config.directoryCaFile,
    eab_kid: config.eabKid,
    eab_hmac_key: config.eabHmacKey,
    key_type: config.keyType,
    http_port: config.httpPort,
  };
}

/** One line for logs, audit and the API: the CA's problem detail or the network error, never a key. */
function describeFailure(error: unknown): string {
  if (error instanceof DomainError) return `the issued certificate was refused by validation: ${error.message}`;
  const err = error as Error & { code?: string; response?: { status?: number } };
  const text = (err.message || err.name || 'unknown error').replace(/-----BEGIN[\s\S]*?-----END[^-]*-----/g, '[PEM]').split('\n')[0]!.slice(0, 500);
  return err.code && !text.includes(err.code) ? `${text} (${err.code})` : text;
}
