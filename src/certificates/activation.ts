import type { CertificateStore } from '../db/ports.js';
import type { Logger } from 'pino';
import type { CertificateRow, CertificateSource, NewVersion } from '../db/certificates-repo.js';
import { PreconditionFailedError } from '../db/certificates-repo.js';
import { DatabaseBusyError, type ActivationCommit } from '../db/write-thread.js';
import { DomainError } from '../domain-errors.js';
import type { EventBus } from '../events/events.js';
import type { Metrics } from '../observability/metrics.js';
import { seal } from '../secrets/seal.js';
import type { IdentitySwitch, PreparedIdentity } from '../tls/identity-switch.js';
import type { TicketKeyStore } from '../tls/ticket-keys.js';
import type { TlsIdentity } from '../tls/tls-identity.js';
import type { Finding } from '../validation/findings.js';
import type { NormalizedBundle } from '../validation/validate-bundle.js';
import { createMutex } from './mutex.js';
import type { ServedState } from './served-state.js';
import type { StoredSummary } from './version-view.js';

export interface ChangeContext {
  actor: string;
  address?: string | undefined;
  ifMatch?: string | undefined;
}

/** How a change reached this process; every one of them passes through `activate` or `applyCommitted`. */
export type ActivationWay = Exclude<CertificateSource, 'default'> | 'reset' | 'boot' | 'fallback' | 'sync';

/** What becomes served: a bundle validated just now, or a version already stored (boot fallback). */
export type ActivationTarget =
  | { bundle: NormalizedBundle; warnings: Finding[]; source: CertificateSource }
  | { stored: CertificateRow; identity: TlsIdentity };

export interface ActivationRequest {
  target: ActivationTarget;
  way: ActivationWay;
  context: ChangeContext;
  /** The audit action (default `certificate.<source>`) and extra details. */
  action?: string;
  auditDetails?: Record<string, unknown>;
  fallbackReason?: string | null;
  /** SPEC §3: uploading the bundle that is already active changes nothing (If-Match still applies). */
  unlessActive?: boolean;
}

export interface ActivationTimings {
  /** Waiting for earlier changes to finish (the mutex). */
  queueMs: number;
  /** Sealing and building the new SecureContext. */
  prepareMs: number;
  /** The one write round trip: transaction, commit, fsync. */
  commitMs: number;
  swapMs: number;
}

export interface Activated {
  row: CertificateRow;
  changed: boolean;
  timings: ActivationTimings;
}

export interface ActivationDeps {
  repo: Pick<CertificateStore, 'active' | 'activate'>;
  /** The server writes on its writer thread (db/write-thread.ts); without it, the same transaction runs in this thread. */
  commit?: ActivationCommit | undefined;
  identities: IdentitySwitch;
  served: ServedState;
  masterKey: Buffer;
  /** Shared session-ticket keys, replaced with every activation (none: Node's own per-process keys). */
  ticketKeys?: TicketKeyStore | undefined;
  clock: () => number;
  logger: Logger;
  metrics?: Metrics | undefined;
  events?: EventBus | undefined;
  /** Told every version this process starts serving from the database (the last-known-good file). */
  onServed?: ((served: { row: CertificateRow; generation: number; fallbackReason: string | null }) => void) | undefined;
}

const ifMatchFailed = () => new DomainError('precondition-failed', 'If-Match does not name the active certificate: another change got there first; read it again and retry');

/** Accepts the fingerprint as we print it, or with colons, quotes (ETag style) and any case. */
export function normaliseFingerprint(value: string): string {
  return value.trim().replace(/^W\//, '').replaceAll('"', '').replaceAll(':', '').toLowerCase();
}

function notAfterOf(row: Pick<CertificateRow, 'summaryJson'>): number {
  return Date.parse((JSON.parse(row.summaryJson) as StoredSummary).certificate.not_after);
}

/**
 * The one path by which this process starts serving an identity (SPEC §3 swap semantics, STYLE 12).
 * Upload, import, rollback, reset, boot and its fallbacks call `activate`: build the SecureContext
 * (a refusal writes nothing), one write (If-Match checked inside the transaction), then the swap, a
 * pointer change that cannot fail. A change committed elsewhere (another process, the CLI) goes
 * through `applyCommitted`, the same swap step without the write. One at a time, in arrival order.
 */
export function createActivation(deps: ActivationDeps) {
  const { repo, identities, served, masterKey, clock, logger, metrics } = deps;
  const mutex = createMutex();
  const write: ActivationCommit = deps.commit ?? (async (change) => repo.activate(change));

  /** Swap, then everything that reports it: the served snapshot, the gauges, one log line, the counter. */
  function install(prepared: PreparedIdentity, row: CertificateRow, generation: number, fallbackReason: string | null, way: ActivationWay, actor: string, fromDatabase = true): number {
    const started = performance.now();
    identities.install(prepared);
    const swapMs = performance.now() - started;
    served.applied({ version: row.version, fingerprint: row.fingerprint, notAfter: notAfterOf(row), fallbackReason }, generation, row);
    if (fromDatabase) deps.onServed?.({ row, generation, fallbackReason });
    metrics?.activated(way);
    logger.info(
      { event: 'certificate.activated', way, version: row.version, generation, source: row.source, fingerprint_sha256: row.fingerprint, actor },
      'certificate activated',
    );
    return swapMs;
  }

  function prepare(identity: TlsIdentity, ticketKeys: Buffer | undefined): PreparedIdentity {
    try {
      return identities.prepare(identity, ticketKeys);
    } catch {
      // The canary proved this bundle, so this is rare (memory, a changed OpenSSL): nothing was written.
      throw new DomainError('invalid-bundle', ["Node's TLS refuses this key and certificate; nothing was changed"]);
    }
  }

  async function activateNow(request: ActivationRequest, queuedAt: number): Promise<Activated> {
    const started = performance.now();
    const { target, context } = request;
    const expectedFingerprint = context.ifMatch === undefined ? undefined : normaliseFingerprint(context.ifMatch);
    if (request.unlessActive && 'bundle' in target) {
      const active = await repo.active();
      if (active && active.fingerprint === target.bundle.certificate.fingerprint_sha256 && active.chainPem === JSON.stringify(target.bundle.chainPems)) {
        if (expectedFingerprint !== undefined && expectedFingerprint !== active.fingerprint) throw ifMatchFailed();
        return { row: active, changed: false, timings: { queueMs: started - queuedAt, prepareMs: 0, commitMs: 0, swapMs: 0 } };
      }
    }
    const fallbackReason = request.fallbackReason ?? null;
    // Sessions end with their certificate: new ticket keys, written and swapped in with it.
    const ticketKeys = deps.ticketKeys?.fresh();
    let identity: TlsIdentity;
    let version: NewVersion | undefined;
    if ('bundle' in target) {
      const { bundle, warnings, source } = target;
      const fingerprint = bundle.certificate.fingerprint_sha256;
      identity = { fingerprint, keyPem: bundle.keyPem, certPem: bundle.certPem, chainPems: bundle.chainPems };
      version = {
        source,
        certPem: bundle.certPem,
        chainPem: JSON.stringify(bundle.chainPems),
        keySealed: seal(masterKey, bundle.keyPem, fingerprint),
        fingerprint,
        summaryJson: JSON.stringify({ certificate: bundle.certificate, chain: bundle.chain } satisfies StoredSummary),
        warningsJson: JSON.stringify(warnings),
        createdBy: context.actor,
      };
    } else {
      identity = target.identity;
    }
    const prepared = prepare(identity, ticketKeys?.keys);
    const prepareMs = performance.now() - started;

    const source = version?.source ?? ('stored' in target ? target.stored.source : 'default');
    let written;
    const committing = performance.now();
    try {
      written = await write({
        target: version ? { insert: version } : { existing: (target as { stored: CertificateRow }).stored.version },
        audit: {
          actor: context.actor,
          clientAddress: context.address,
          action: request.action ?? `certificate.${source}`,
          fingerprint: identity.fingerprint,
          ...(request.auditDetails ? { details: request.auditDetails } : {}),
        },
        expectedFingerprint,
        fallbackReason,
        ticketKeysSealed: ticketKeys?.sealed,
        now: clock(),
      });
    } catch (error) {
      if (error instanceof PreconditionFailedError || (error as Error).name === 'PreconditionFailedError') throw ifMatchFailed();
      if (error instanceof DatabaseBusyError || (error as { code?: unknown }).code === 'SQLITE_BUSY') {
        throw new DomainError('busy', 'the database is busy (another process holds its write lock); nothing was changed, retry shortly', { retryAfterSeconds: 1 });
      }
      throw error;
    }
    const commitMs = performance.now() - committing;
    const row: CertificateRow = version ? { ...version, version: written.version, createdAt: written.createdAt } : (target as { stored: CertificateRow }).stored;
    const swapMs = install(prepared, row, written.generation, fallbackReason, request.way, context.actor);
    if (version) {
      metrics?.swapped(version.source);
      deps.events?.emit({ type: 'certificate.activated', version: row.version, fingerprint_sha256: row.fingerprint, source: row.source, actor: context.actor, not_after: new Date(notAfterOf(row)).toISOString() });
    }
    if (fallbackReason) deps.events?.emit({ type: 'certificate.fallback', version: row.version, fingerprint_sha256: row.fingerprint, reason: fallbackReason });
    return { row, changed: true, timings: { queueMs: started - queuedAt, prepareMs, commitMs, swapMs } };
  }

  return {
    /** Makes `request.target` the active version everywhere and serves it here; resolves once stored and served. */
    activate(request: ActivationRequest): Promise<Activated> {
      const queuedAt = performance.now();
      return mutex.run(() => activateNow(request, queuedAt));
    },

    /**
     * Serves a version that is already committed as active at `generation` (boot, or another process's
     * change). `prepare` failing leaves the current identity serving; the caller decides what that means.
     */
    applyCommitted(row: CertificateRow, identity: TlsIdentity, generation: number, fallbackReason: string | null, way: 'boot' | 'sync', ticketKeys: Buffer | undefined): void {
      install(identities.prepare(identity, ticketKeys), row, generation, fallbackReason, way, row.createdBy);
      if (way === 'sync') metrics?.swapped('sync');
    },

    /**
     * The database cannot be reached at boot: serves the last-known-good bundle or an in-memory default,
     * writing nothing. The boot rules run again once the database is back.
     */
    serveWithoutDatabase(row: CertificateRow, identity: TlsIdentity, generation: number, fallbackReason: string | null): void {
      install(identities.prepare(identity, undefined), row, generation, fallbackReason, 'boot', row.createdBy, false);
    },

    /** Runs `task` in the activation order (sync, ticket-key rotation): never interleaved with an activation. */
    serialized<T>(task: () => Promise<T> | T): Promise<T> {
      return mutex.run(task);
    },
  };
}

export type Activation = ReturnType<typeof createActivation>;
