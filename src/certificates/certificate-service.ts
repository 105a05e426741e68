import type { Logger } from 'pino';
import type { AuditRepo } from '../db/audit-repo.js';
import { DatabaseBusyError, type ActivationCommit } from '../db/write-thread.js';
import { PreconditionFailedError, type CertificateRow, type CertificateSource, type CertificatesRepo, type NewVersion } from '../db/certificates-repo.js';
import { DomainError } from '../domain-errors.js';
import type { EventBus } from '../events/events.js';
import type { Metrics } from '../observability/metrics.js';
import { seal, unseal } from '../secrets/seal.js';
import { identityProblem, type TlsIdentity } from '../tls/tls-identity.js';
import type { IdentitySwitch } from '../tls/identity-switch.js';
import type { TicketKeyStore } from '../tls/ticket-keys.js';
import type { Finding } from '../validation/findings.js';
import type { NormalizedBundle } from '../validation/validate-bundle.js';
import { PoolSaturatedError, ValidationTimeoutError } from '../workers/validation-pool.js';
import type { ValidateOutcome, ValidateTask } from '../validation/validate-task.js';
import { toDryRunReport } from './dry-run-report.js';
import { createMutex } from './mutex.js';
import { createSelfSigned } from './self-signed.js';
import { toVersionView, type CertificateVersionView, type StoredSummary } from './version-view.js';

export interface ChangeContext {
  actor: string;
  address?: string | undefined;
  ifMatch?: string | undefined;
}

export interface UploadTimings {
  validateMs: number;
  canaryMs: number;
  poolMs: number;
  /** Waiting for earlier changes to finish (the mutex). */
  queueMs: number;
  /** The transaction: seal, insert, swap, fsync. */
  commitMs: number;
  swapMs: number;
  totalMs: number;
}

export interface DryRunReport {
  valid: boolean;
  errors: Finding[];
  warnings: Finding[];
  certificate?: NormalizedBundle['certificate'] & { chain: NormalizedBundle['chain'] };
}

export type CertificateStatus = 'ok' | 'expiring' | 'expired' | 'fallback' | 'out_of_sync';

export interface CertificateServiceDeps {
  repo: CertificatesRepo;
  audit: AuditRepo;
  identities: IdentitySwitch;
  validate: (task: ValidateTask) => Promise<ValidateOutcome>;
  /** The server commits activations on a writer thread (see db/write-thread.ts); without it, in this thread. */
  commitActivation?: ActivationCommit | undefined;
  /** Boot runs before anything listens, so it validates in this thread and never waits on the pool. */
  validateAtBoot?: (task: ValidateTask) => Promise<ValidateOutcome>;
  masterKey: Buffer;
  /** Shared session-ticket keys, replaced with every activation (none: Node's own per-process keys). */
  ticketKeys?: TicketKeyStore | undefined;
  clock: () => number;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** Told about activations, rejections, fallbacks and expiry (event webhooks listen). */
  events?: EventBus | undefined;
  hostname?: string | undefined;
  /** Keys hotcert generated for CSRs (csr-service.ts): an upload without a key is matched to one by public key. */
  pendingKeys?: {
    match(spkiSha256: string[]): { id: number; keyPem: string } | undefined;
    consume(id: number, context: ChangeContext, fingerprint: string): void;
  } | undefined;
}

/** What an upload may be: PEM text, or a PKCS#12 (PFX) file with its password (converted in the worker). */
export type UploadInput = string | Uint8Array | { pkcs12: Uint8Array; password: string };

const DAY_MS = 24 * 60 * 60 * 1000;
const ifMatchFailed = () => new DomainError('precondition-failed', 'If-Match does not name the active certificate: another change got there first; read it again and retry');
const EXPIRY_WARNING_DAYS = [30, 14, 7, 1];

/** Accepts the fingerprint as we print it, or with colons, quotes (ETag style) and any case. */
export function normaliseFingerprint(value: string): string {
  return value.trim().replace(/^W\//, '').replaceAll('"', '').replaceAll(':', '').toLowerCase();
}

export function createCertificateService(deps: CertificateServiceDeps) {
  const { repo, audit, identities, masterKey, clock, logger, metrics } = deps;
  const mutex = createMutex();
  let appliedGeneration = -1;
  let lastExpiryWarning: number | undefined;

  function loadIdentity(row: CertificateRow): TlsIdentity {
    return {
      fingerprint: row.fingerprint,
      keyPem: unseal(masterKey, row.keySealed, row.fingerprint),
      certPem: row.certPem,
      chainPems: JSON.parse(row.chainPem) as string[],
    };
  }

  /** Why a stored version cannot be served, or null. Never throws. */
  function tryLoad(row: CertificateRow): { identity: TlsIdentity } | { problem: string } {
    try {
      const identity = loadIdentity(row);
      const problem = identityProblem(identity);
      return problem ? { problem } : { identity };
    } catch (error) {
      return { problem: error instanceof Error && error.name === 'UnsealError' ? error.message : 'the stored row is damaged' };
    }
  }

  function notAfterOf(row: CertificateRow): number {
    return Date.parse((JSON.parse(row.summaryJson) as StoredSummary).certificate.not_after);
  }

  interface Snapshot {
    version: number;
    fingerprint: string;
    notAfter: number;
    fallbackReason: string | null;
  }
  /** What health and metrics report: the version this process serves, refreshed whenever it applies a change (its own or another's). */
  let snapshot: Snapshot | undefined;
  /** The database names an active version this process could not apply; it keeps serving `snapshot`. */
  let outOfSync: { version: number; reason: string } | undefined;

  function setOutOfSync(value: typeof outOfSync): void {
    outOfSync = value;
    metrics?.outOfSync(value !== undefined);
  }

  function readSnapshot(): Snapshot | undefined {
    const state = repo.state();
    const row = repo.active();
    return row && { version: row.version, fingerprint: row.fingerprint, notAfter: notAfterOf(row), fallbackReason: state.fallbackReason };
  }

  /** Refreshes the snapshot (from the database unless the caller just wrote it) and the gauges. */
  function publishMetrics(known?: Snapshot): void {
    snapshot = known ?? readSnapshot();
    setOutOfSync(undefined);
    publishGauges();
  }

  function publishGauges(): void {
    if (!snapshot || !metrics) return;
    metrics.setActiveCertificate({
      fingerprint: snapshot.fingerprint,
      version: snapshot.version,
      notAfter: snapshot.notAfter,
      expired: snapshot.notAfter < clock(),
      fallback: snapshot.fallbackReason !== null,
    });
  }

  async function runValidation(task: ValidateTask): Promise<ValidateOutcome> {
    const started = performance.now();
    try {
      const outcome = await deps.validate(task);
      metrics?.validated((performance.now() - started) / 1000);
      return outcome;
    } catch (error) {
      if (error instanceof PoolSaturatedError) throw new DomainError('busy', 'the validation pool is busy; retry shortly', { retryAfterSeconds: 1 });
      if (error instanceof ValidationTimeoutError) {
        metrics?.rejected(['timeout']);
        throw new DomainError('busy', 'validation took longer than 5 s and was stopped; retry, or check the bundle with hotcert check', { retryAfterSeconds: 5 });
      }
      throw error;
    }
  }

  function rejectWith(outcome: Extract<ValidateOutcome, { ok: false }>, context: ChangeContext, action: string): never {
    const rules = outcome.errors.map((finding) => finding.rule);
    metrics?.rejected(rules);
    audit.record({ actor: context.actor, clientAddress: context.address, action, details: { rules } });
    logger.warn({ event: 'certificate.rejected', rules, actor: context.actor }, 'certificate rejected');
    deps.events?.emit({ type: 'certificate.rejected', rules, actor: context.actor, action });
    throw new DomainError('invalid-bundle', outcome.errors.map((finding) => finding.message));
  }

  function checkIfMatch(context: ChangeContext): string | undefined {
    if (context.ifMatch === undefined) return undefined;
    const expected = normaliseFingerprint(context.ifMatch);
    if (repo.active()?.fingerprint !== expected) throw ifMatchFailed();
    return expected;
  }

  /**
   * The only way a version becomes served: insert and mark active in an IMMEDIATE transaction, swap
   * while it is open, commit. With the writer thread the transaction lives there, so the wait for the
   * lock and the fsync happen off the event loop. A failure at any step leaves the old certificate
   * serving (swapped back if need be) and nothing written.
   */
  async function activate(
    bundle: NormalizedBundle,
    warnings: Finding[],
    source: CertificateSource,
    context: ChangeContext,
    options: { fallbackReason?: string | null; action?: string } = {},
  ): Promise<{ row: CertificateRow; swapMs: number }> {
    const expectedFingerprint = checkIfMatch(context);
    const previous = identities.current();
    const fingerprint = bundle.certificate.fingerprint_sha256;
    const fallbackReason = options.fallbackReason ?? null;
    const version: NewVersion = {
      source,
      certPem: bundle.certPem,
      chainPem: JSON.stringify(bundle.chainPems),
      keySealed: seal(masterKey, bundle.keyPem, fingerprint),
      fingerprint,
      summaryJson: JSON.stringify({ certificate: bundle.certificate, chain: bundle.chain } satisfies StoredSummary),
      warningsJson: JSON.stringify(warnings),
      createdBy: context.actor,
    };
    const audit = { actor: context.actor, clientAddress: context.address, action: options.action ?? `certificate.${source}` };
    const identity: TlsIdentity = { fingerprint, keyPem: bundle.keyPem, certPem: bundle.certPem, chainPems: bundle.chainPems };
    // Sessions end with their certificate: new ticket keys, swapped in and committed with it.
    const previousKeys = identities.ticketKeys();
    const ticketKeys = deps.ticketKeys?.fresh();
    let swapped = false;
    let swapMs = 0;
    const swap = () => {
      const swapStarted = performance.now();
      identities.swap(identity, ticketKeys?.keys);
      swapMs = performance.now() - swapStarted;
      swapped = true;
    };
    try {
      let row: CertificateRow;
      let generation = appliedGeneration;
      if (deps.commitActivation) {
        ({ row, generation } = await deps.commitActivation(version, audit, { expectedFingerprint, fallbackReason, ticketKeysSealed: ticketKeys?.sealed, now: clock() }, swap));
      } else {
        row = repo.insertAndActivate(version, audit, {
          expectedFingerprint,
          fallbackReason,
          ticketKeysSealed: ticketKeys?.sealed,
          beforeCommit: (_inserted, nextGeneration) => {
            swap();
            generation = nextGeneration;
          },
        });
      }
      appliedGeneration = generation;
      metrics?.swapped(source);
      publishMetrics({ version: row.version, fingerprint, notAfter: Date.parse(bundle.certificate.not_after), fallbackReason });
      logger.info({ event: 'certificate.activated', version: row.version, source, fingerprint_sha256: fingerprint, actor: context.actor }, 'certificate activated');
      deps.events?.emit({ type: 'certificate.activated', version: row.version, fingerprint_sha256: fingerprint, source, actor: context.actor, not_after: bundle.certificate.not_after });
      if (fallbackReason) deps.events?.emit({ type: 'certificate.fallback', version: row.version, fingerprint_sha256: fingerprint, reason: fallbackReason });
      return { row, swapMs };
    } catch (error) {
      if (swapped && previous) identities.swap(previous, previousKeys);
      if (error instanceof PreconditionFailedError) throw ifMatchFailed();
      if (error instanceof DatabaseBusyError || (error as { code?: unknown }).code === 'SQLITE_BUSY') {
        throw new DomainError('busy', 'the database is busy (another process holds its write lock); nothing was changed, retry shortly', { retryAfterSeconds: 1 });
      }
      throw error;
    }
  }

  async function createDefaultBundle(atBoot = false): Promise<{ bundle: NormalizedBundle; warnings: Finding[] }> {
    const selfSigned = await createSelfSigned(clock(), deps.hostname);
    const validate = atBoot ? (deps.validateAtBoot ?? deps.validate) : deps.validate;
    const outcome = await validate({ pem: `${selfSigned.keyPem}\n${selfSigned.certPem}`, requireIntermediate: false, now: clock() });
    if (!outcome.ok) throw new Error(`the built-in self-signed certificate failed validation: ${outcome.errors.map((e) => e.rule).join(', ')}`);
    return { bundle: outcome.bundle, warnings: outcome.warnings };
  }

  /** The row this process serves: the database's active one, unless this process could not apply that. */
  function servedRow(): CertificateRow | undefined {
    return (outOfSync && snapshot && repo.get(snapshot.version)) || repo.active();
  }

  function activeView(): CertificateVersionView {
    if (outOfSync && snapshot) {
      // What this process serves, not what the database calls active (health says out_of_sync).
      const served = repo.get(snapshot.version);
      if (served) return toVersionView(served, served.version);
    }
    const state = repo.state();
    const row = repo.active();
    if (!row) throw new DomainError('not-ready', 'no certificate is active yet');
    return toVersionView(row, state.activeVersion);
  }

  function sameBundle(row: CertificateRow | undefined, bundle: NormalizedBundle): boolean {
    return !!row && row.fingerprint === bundle.certificate.fingerprint_sha256 && row.chainPem === JSON.stringify(bundle.chainPems);
  }

  return {
    /** SPEC §5: serve the active version, else the newest usable earlier one, else a new default. */
    async bootstrap(): Promise<{ fallbackReason: string | null }> {
      return mutex.run(async () => {
        const state = repo.state();
        const history = repo.history();
        const active = history.find((row) => row.version === state.activeVersion);
        if (!active) {
          const reason = state.activeVersion === null ? null : `active version ${state.activeVersion} is missing`;
          const { bundle, warnings } = await createDefaultBundle(true);
          await activate(bundle, warnings, 'default', { actor: 'system' }, { fallbackReason: reason, action: reason ? 'certificate.fallback' : 'certificate.default' });
          return { fallbackReason: reason };
        }
        const loaded = tryLoad(active);
        if ('identity' in loaded) {
          identities.swap(loaded.identity, deps.ticketKeys?.readOrCreate());
          appliedGeneration = state.generation;
          publishMetrics();
          this.checkExpiry();
          return { fallbackReason: state.fallbackReason };
        }
        const reason = `version ${active.version} cannot be served: ${loaded.problem}`;
        logger.error({ event: 'certificate.unusable', version: active.version, reason }, 'active certificate cannot be served; falling back');
        for (const row of history) {
          if (row.version === active.version || notAfterOf(row) < clock()) continue;
          const candidate = tryLoad(row);
          if (!('identity' in candidate)) continue;
          const ticketKeys = deps.ticketKeys?.fresh();
          identities.swap(candidate.identity, ticketKeys?.keys);
          repo.activateExisting(
            row.version,
            reason,
            { actor: 'system', action: 'certificate.fallback', fingerprint: row.fingerprint, details: { from_version: active.version, to_version: row.version, reason } },
            ticketKeys?.sealed,
          );
          appliedGeneration = repo.generation();
          publishMetrics();
          logger.warn({ event: 'certificate.fallback', version: row.version, fingerprint_sha256: row.fingerprint, reason }, 'fallback at boot');
          deps.events?.emit({ type: 'certificate.fallback', version: row.version, fingerprint_sha256: row.fingerprint, reason });
          return { fallbackReason: reason };
        }
        const { bundle, warnings } = await createDefaultBundle(true);
        await activate(bundle, warnings, 'default', { actor: 'system' }, { fallbackReason: reason, action: 'certificate.fallback' });
        logger.warn({ event: 'certificate.fallback', reason }, 'fallback at boot to a new self-signed certificate');
        return { fallbackReason: reason };
      });
    },

    active: activeView,

    history(): CertificateVersionView[] {
      const { activeVersion } = repo.state();
      return repo.history().map((row) => toVersionView(row, activeVersion));
    },

    /** The intermediates of the active bundle as PEM, or null when it has none. */
    intermediatesPem(): string | null {
      const row = servedRow();
      const chain = row ? (JSON.parse(row.chainPem) as string[]) : [];
      return chain.length > 0 ? chain.map((pem) => pem.trimEnd() + '\n').join('') : null;
    },

    async upload(input: UploadInput, context: ChangeContext, options: { dryRun?: boolean; source?: 'upload' | 'import' | 'acme' } = {}) {
      const received = performance.now();
      const task: ValidateTask = typeof input === 'object' && 'pkcs12' in input ? { pem: '', pkcs12: { der: input.pkcs12, password: input.password }, now: clock() } : { pem: input, now: clock() };
      let outcome = await runValidation(task);
      // No key in the upload: the certificate may be the one issued for a CSR whose key hotcert keeps.
      const pending = !outcome.ok && outcome.keylessSpkiSha256 ? deps.pendingKeys?.match(outcome.keylessSpkiSha256) : undefined;
      if (pending) outcome = await runValidation({ ...task, pendingKeyPem: pending.keyPem, now: clock() });
      const poolMs = performance.now() - received;
      if (options.dryRun) {
        return { report: toDryRunReport(outcome) };
      }
      if (!outcome.ok) rejectWith(outcome, context, 'certificate.rejected');
      const queued = performance.now();
      return mutex.run(async () => {
        const commitStarted = performance.now();
        const fingerprint = outcome.bundle.certificate.fingerprint_sha256;
        if (sameBundle(repo.active(), outcome.bundle)) {
          checkIfMatch(context);
          if (pending) deps.pendingKeys?.consume(pending.id, context, fingerprint);
          return { view: activeView(), changed: false, timings: undefined };
        }
        const { row, swapMs } = await activate(outcome.bundle, outcome.warnings, options.source ?? 'upload', context);
        if (pending) deps.pendingKeys?.consume(pending.id, context, fingerprint);
        const totalMs = performance.now() - received;
        metrics?.uploadToSwap(totalMs / 1000);
        const timings: UploadTimings = {
          validateMs: outcome.timings.validateMs,
          canaryMs: outcome.timings.canaryMs,
          poolMs,
          queueMs: commitStarted - queued,
          commitMs: performance.now() - commitStarted,
          swapMs,
          totalMs,
        };
        return { view: toVersionView(row, row.version), changed: true, timings };
      });
    },

    async rollback(version: number | undefined, context: ChangeContext): Promise<CertificateVersionView> {
      const state = repo.state();
      const active = repo.active();
      const target =
        version === undefined
          ? repo.history().find((row) => row.version < (state.activeVersion ?? 0) && row.fingerprint !== active?.fingerprint)
          : repo.get(version);
      if (!target) throw new DomainError('not-found', version === undefined ? 'there is no earlier version to roll back to' : `version ${version} does not exist`);
      let identity: TlsIdentity;
      try {
        identity = loadIdentity(target);
      } catch {
        throw new DomainError('invalid-input', `version ${target.version} cannot be decrypted with the current master key; upload a new bundle instead`);
      }
      const outcome = await runValidation({
        pem: [identity.keyPem, identity.certPem, ...identity.chainPems].join('\n'),
        now: clock(),
        // Stored without intermediates: self-signed, or issued by a root that was dropped at upload (two-tier).
        requireIntermediate: identity.chainPems.length > 0,
      });
      if (!outcome.ok) rejectWith(outcome, context, 'certificate.rollback_rejected');
      return mutex.run(async () => {
        await activate(outcome.bundle, outcome.warnings, 'rollback', context, { action: 'certificate.rollback' });
        return activeView();
      });
    },

    async reset(context: ChangeContext): Promise<CertificateVersionView> {
      const { bundle, warnings } = await createDefaultBundle();
      return mutex.run(async () => {
        await activate(bundle, warnings, 'default', context, { action: 'certificate.reset' });
        return activeView();
      });
    },

    /**
     * Ticket keys also age out without a certificate change: older than a day, one process replaces
     * them and every process takes the stored ones (called hourly). Inside the mutex, so it never
     * undoes the keys an activation has swapped in but not yet committed.
     */
    async refreshTicketKeys(): Promise<void> {
      const store = deps.ticketKeys;
      if (!store) return;
      await mutex.run(async () => {
        const keys = store.rotateIfOlder(DAY_MS, clock());
        if (keys && !keys.equals(identities.ticketKeys() ?? Buffer.alloc(0))) identities.setTicketKeys(keys);
      });
    },

    /** Picks up a change another process committed (other WORKERS, a second server, the CLI). */
    async syncFromDatabase(): Promise<boolean> {
      if (repo.generation() === appliedGeneration) return false;
      return mutex.run(() => {
        const state = repo.state();
        if (state.generation === appliedGeneration) return false;
        const row = repo.active();
        const current = identities.current();
        const ticketKeys = deps.ticketKeys?.read();
        if (row && row.fingerprint !== current?.fingerprint) {
          const loaded = tryLoad(row);
          if ('identity' in loaded) {
            identities.swap(loaded.identity, ticketKeys);
            metrics?.swapped('sync');
            logger.info({ event: 'certificate.synced', version: row.version, fingerprint_sha256: row.fingerprint }, 'certificate activated by another process');
          } else {
            logger.error({ event: 'certificate.sync_failed', version: row.version, reason: loaded.problem }, 'certificate from another process cannot be served; keeping the current one');
            appliedGeneration = state.generation;
            // Health, metrics and GET keep describing what is served, and say that it is not what the database says.
            setOutOfSync({ version: row.version, reason: `version ${row.version} is active in the database but this process cannot serve it: ${loaded.problem}` });
            return true;
          }
        } else if (ticketKeys && !ticketKeys.equals(identities.ticketKeys() ?? Buffer.alloc(0))) {
          identities.setTicketKeys(ticketKeys);
        }
        appliedGeneration = state.generation;
        publishMetrics();
        return true;
      });
    },

    health(): { status: CertificateStatus; version: number | null; not_after: string | null; fingerprint_sha256: string | null; reason?: string } {
      // The server keeps the snapshot current (boot, every change, the sync tick); the CLI reads the database.
      const current = snapshot ?? readSnapshot();
      if (!current) return { status: 'fallback', version: null, not_after: null, fingerprint_sha256: null, reason: 'no certificate is active' };
      const notAfter = current.notAfter;
      const base = { version: current.version, not_after: new Date(notAfter).toISOString(), fingerprint_sha256: current.fingerprint };
      if (outOfSync) return { status: 'out_of_sync', ...base, reason: `${outOfSync.reason}; still serving version ${current.version}` };
      if (current.fallbackReason) return { status: 'fallback', ...base, reason: current.fallbackReason };
      if (notAfter < clock()) return { status: 'expired', ...base };
      if (notAfter - clock() < 30 * DAY_MS) return { status: 'expiring', ...base };
      return { status: 'ok', ...base };
    },

    /** Logs once per threshold (30, 14, 7, 1 days, expired); called at boot and by a timer. */
    checkExpiry(): void {
      const row = servedRow();
      if (!row) return;
      const daysLeft = (notAfterOf(row) - clock()) / DAY_MS;
      const threshold = daysLeft < 0 ? 0 : EXPIRY_WARNING_DAYS.filter((days) => daysLeft <= days).at(-1);
      if (outOfSync) publishGauges();
      else publishMetrics();
      if (threshold === undefined || threshold === lastExpiryWarning) return;
      lastExpiryWarning = threshold;
      const fields = { event: threshold === 0 ? 'certificate.expired' : 'certificate.expiring', version: row.version, fingerprint_sha256: row.fingerprint, days_left: Math.floor(daysLeft) };
      const notAfter = new Date(notAfterOf(row)).toISOString();
      if (threshold === 0) {
        logger.error(fields, 'the served certificate has EXPIRED; upload a new one');
        deps.events?.emit({ type: 'certificate.expired', version: row.version, fingerprint_sha256: row.fingerprint, not_after: notAfter });
      } else {
        logger.warn(fields, `the served certificate expires within ${threshold} days`);
        deps.events?.emit({ type: 'certificate.expiring', version: row.version, fingerprint_sha256: row.fingerprint, days_left: fields.days_left, threshold_days: threshold, not_after: notAfter });
      }
    },
  };
}

export type CertificateService = ReturnType<typeof createCertificateService>;
