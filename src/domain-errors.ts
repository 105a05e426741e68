/**
 * What went wrong, in the services' own words: no HTTP status, no header, no error code.
 * `src/http/domain-error-response.ts` turns one into the WhatsApp envelope; the CLI turns one
 * into an exit code and a line on stderr.
 */
export type DomainErrorKind =
  /** A value the caller gave is wrong. */
  | 'invalid-input'
  /** A certificate bundle failed validation: one detail per error finding. */
  | 'invalid-bundle'
  /** A value the caller must give is absent. */
  | 'missing-input'
  /** The credentials are wrong or absent. */
  | 'unauthenticated'
  /** The caller is known but may not do this. */
  | 'forbidden'
  /** The password is right but must be changed before anything else. */
  | 'password-change-required'
  | 'not-found'
  /** The thing to create already exists. */
  | 'conflict'
  /** The caller's expected state (If-Match) is no longer the current one. */
  | 'precondition-failed'
  /** Too many failed attempts: wait `retryAfterSeconds`. */
  | 'too-many-attempts'
  /** Transient: the validation pool is full, the database is locked, the work took too long. Retry. */
  | 'busy'
  /** Nothing to answer with yet (no active certificate). */
  | 'not-ready'
  /** The data directory is full, read-only or gone: nothing was changed. */
  | 'storage';

export interface DomainErrorExtras {
  /** When a retry may succeed (busy, too-many-attempts, storage). */
  retryAfterSeconds?: number;
  /** For 'unauthenticated': which credentials were refused (a password at login, or a token). */
  credentials?: 'password' | 'token';
}

export class DomainError extends Error {
  override name = 'DomainError';
  /** Human sentences, one per problem; never key material. */
  readonly details: readonly string[];

  constructor(
    readonly kind: DomainErrorKind,
    details: string | readonly string[],
    readonly extras: DomainErrorExtras = {},
  ) {
    const list = typeof details === 'string' ? [details] : [...details];
    super(list.join('; '));
    this.details = list;
  }
}
