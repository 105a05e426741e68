import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { DomainError, DomainErrorKind } from '../domain-errors.js';
import { DatabaseUnavailableError } from '../db/database-unavailable.js';
import { ApiError, BASIC_CHALLENGE, BEARER_CHALLENGE, notReady, type ErrorKind } from './errors.js';

/** The one table from a service's error kind to its HTTP status and WhatsApp error code (SPEC §3 "Errors"). */
const RESPONSES: Record<DomainErrorKind, { status: ContentfulStatusCode; code: ErrorKind }> = {
  'invalid-input': { status: 400, code: 'invalidParameter' },
  'invalid-bundle': { status: 400, code: 'invalidParameter' },
  'missing-input': { status: 400, code: 'missingParameter' },
  unauthenticated: { status: 401, code: 'accessDenied' },
  forbidden: { status: 403, code: 'accessDenied' },
  'password-change-required': { status: 400, code: 'passwordChangeRequired' },
  'not-found': { status: 404, code: 'notFound' },
  conflict: { status: 409, code: 'alreadyExists' },
  'precondition-failed': { status: 412, code: 'invalidParameter' },
  'too-many-attempts': { status: 429, code: 'tooManyRequests' },
  busy: { status: 503, code: 'notReady' },
  'not-ready': { status: 503, code: 'notReady' },
  storage: { status: 507, code: 'notReady' },
};

/** The HTTP answer to a service's error: status, one envelope entry per detail, Retry-After and WWW-Authenticate. */
export function domainErrorResponse(error: DomainError): ApiError {
  const { status, code } = RESPONSES[error.kind];
  const headers: Record<string, string> = {};
  const { retryAfterSeconds, credentials } = error.extras;
  if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  if (error.kind === 'unauthenticated') headers['WWW-Authenticate'] = credentials === 'password' ? BASIC_CHALLENGE : BEARER_CHALLENGE;
  return new ApiError(status, code, [...error.details], headers);
}

/** Seconds a client should wait after the shared database went away: the instance retries on its own meanwhile. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

/** The store's own class, or its name when it crossed a boundary that drops classes. */
export function isDatabaseUnavailableError(error: unknown): error is DatabaseUnavailableError {
  return error instanceof DatabaseUnavailableError || (error instanceof Error && error.name === 'DatabaseUnavailableError');
}

/**
 * The shared database (PostgreSQL) cannot be reached: 503 with Retry-After in the envelope. The driver's
 * message is never shown (it may quote a query); the instance keeps serving what it holds.
 */
export function databaseUnavailableResponse(method: string): ApiError {
  const write = method !== 'GET' && method !== 'HEAD';
  const details = write
    ? 'the shared database is unreachable: nothing was changed; this instance keeps serving its certificate; retry shortly'
    : 'the shared database is unreachable and this answer needs it; retry shortly';
  return notReady(details, DATABASE_RETRY_AFTER_SECONDS);
}
