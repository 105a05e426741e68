
import type { CertificateStore } from '../db/ports.js';
import { DomainError } from '../domain-errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { TlsIdentity } from '../tls/tls-identity.js';
import type { Finding } from '../validation/findings.js';
import type { NormalizedBundle } from '../validation/validate-bundle.js';
import type { ValidateTask } from '../validation/validate-task.js';
import type { Activation, ActivationTimings, ChangeContext } from './activation.js';
import { toDryRunReport } from './dry-run-report.js';
import type { ValidationRunner } from './run-validation.js';
import { loadIdentity } from './stored-identity.js';
import { toVersionView, type CertificateVersionView } from './version-view.js';

/** What an upload may be: PEM text, or a PKCS#12 (PFX) file with its password (converted in the worker). */
export type UploadInput = string | Uint8Array | { pkcs12: Uint8Array; password: string };

export interface UploadTimings extends ActivationTimings {
  validateMs: number;
  canaryMs: number;
  poolMs: number;
  totalMs: number;
}

export interface DryRunReport {
  valid: boolean;
  errors: Finding[];
  warnings: Finding[];
  certificate?: NormalizedBundle['certificate'] & { chain: NormalizedBundle['chain'] };
}

/** Keys hotcert generated for CSRs (csr-service.ts): an upload without a key is matched to one by public key. */
export interface PendingKeys {
  match(spkiSha256: string[]): Promise<{ id: number; keyPem: string } | undefined>;
  consume(id: number, context: ChangeContext, fingerprint: string): Promise<void>;
}

export interface CertificateChangesDeps {
  repo: Pick<CertificateStore, 'state' | 'active' | 'get' | 'history'>;
  activation: Activation;
  validation: ValidationRunner;
  createDefault: () => Promise<{ bundle: NormalizedBundle; warnings: Finding[] }>;
  masterKey: Buffer;
  clock: () => number;
  metrics?: Metrics | undefined;
  pendingKeys?: PendingKeys | undefined;
}

/** The changes an operator asks for: validate (in the pool), then hand the result to activation.ts. */
export function createCertificateChanges(deps: CertificateChangesDeps) {
  const { repo, activation, validation, clock, metrics } = deps;

  /** Validates an upload; a keyless one may match a key hotcert keeps for a CSR. */
  async function validateUpload(input: UploadInput) {
    const task: ValidateTask = typeof input === 'object' && 'pkcs12' in input ? { pem: '', pkcs12: { der: input.pkcs12, password: input.password }, now: clock() } : { pem: input, now: clock() };
    const outcome = await validation.run(task);
    const pending = !outcome.ok && outcome.keylessSpkiSha256 ? await deps.pendingKeys?.match(outcome.keylessSpkiSha256) : undefined;
    if (!pending) return { outcome, pending };
    return { outcome: await validation.run({ ...task, pendingKeyPem: pending.keyPem, now: clock() }), pending };
  }

  return {
    /** The validation report of an upload; nothing is stored or served. */
    async dryRun(input: UploadInput): Promise<DryRunReport> {
      return toDryRunReport((await validateUpload(input)).outcome);
    },

    /** Validates and activates; resolves once the new version is stored and served (`changed: false`: it already was). */
    async upload(input: UploadInput, context: ChangeContext, options: { source?: 'upload' | 'import' | 'acme' } = {}) {
      const received = performance.now();
      const { outcome, pending } = await validateUpload(input);
      const poolMs = performance.now() - received;
      if (!outcome.ok) throw await validation.rejection(outcome, context, 'certificate.rejected');
      const source = options.source ?? 'upload';
      const result = await activation.activate({ target: { bundle: outcome.bundle, warnings: outcome.warnings, source }, way: source, context, unlessActive: true });
      if (pending) await deps.pendingKeys?.consume(pending.id, context, result.row.fingerprint);
      const view = toVersionView(result.row, result.row.version);
      if (!result.changed) return { view, changed: false, timings: undefined };
      const totalMs = performance.now() - received;
      metrics?.uploadToSwap(totalMs / 1000);
      const timings: UploadTimings = { validateMs: outcome.timings.validateMs, canaryMs: outcome.timings.canaryMs, poolMs, ...result.timings, totalMs };
      return { view, changed: true, timings };
    },

    /** Re-validates a stored version (it may have expired since) and activates it as a new version. */
    async rollback(version: number | undefined, context: ChangeContext): Promise<CertificateVersionView> {
      const [state, active, history] = await Promise.all([repo.state(), repo.active(), repo.history()]);
      const target =
        version === undefined
          ? history.find((row) => row.version < (state.activeVersion ?? 0) && row.fingerprint !== active?.fingerprint)
          : await repo.get(version);
      if (!target) throw new DomainError('not-found', version === undefined ? 'there is no earlier version to roll back to' : `version ${version} does not exist`);
      let identity: TlsIdentity;
      try {
        identity = loadIdentity(target, deps.masterKey);
      } catch {
        throw new DomainError('invalid-input', `version ${target.version} cannot be decrypted with the current master key; upload a new bundle instead`);
      }
      const outcome = await validation.run({
        pem: [identity.keyPem, identity.certPem, ...identity.chainPems].join('\n'),
        now: clock(),
        // Stored without intermediates: self-signed, or issued by a root that was dropped at upload (two-tier).
        requireIntermediate: identity.chainPems.length > 0,
      });
      if (!outcome.ok) throw await validation.rejection(outcome, context, 'certificate.rollback_rejected');
      const { row } = await activation.activate({ target: { bundle: outcome.bundle, warnings: outcome.warnings, source: 'rollback' }, way: 'rollback', context, action: 'certificate.rollback' });
      return toVersionView(row, row.version);
    },

    /** A fresh self-signed default (DELETE, `hotcert reset-certificate`). */
    async reset(context: ChangeContext): Promise<CertificateVersionView> {
      const { bundle, warnings } = await deps.createDefault();
      const { row } = await activation.activate({ target: { bundle, warnings, source: 'default' }, way: 'reset', context, action: 'certificate.reset' });
      return toVersionView(row, row.version);
    },
  };
}
