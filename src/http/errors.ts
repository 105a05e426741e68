import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The WhatsApp Business API error table (SPEC §3 "Errors"). */
export const errorCodes = {
  invalidParameter: { code: 1009, title: 'Parameter value is not valid' },
  missingParameter: { code: 1008, title: 'Required parameter is missing' },
  accessDenied: { code: 1005, title: 'Access denied' },
  passwordChangeRequired: { code: 1024, title: 'Password Change Required' },
  notFound: { code: 1006, title: 'Resource not found' },
  alreadyExists: { code: 1004, title: 'Resource already exists' },
  tooManyRequests: { code: 1015, title: 'Too many requests' },
  internal: { code: 1014, title: 'Internal error' },
  notReady: { code: 1011, title: 'Service not ready' },
} as const;

export type ErrorKind = keyof typeof errorCodes;

export interface ErrorEntry {
  code: number;
  title: string;
  details: string;
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly entries: ErrorEntry[];

  constructor(
    readonly status: ContentfulStatusCode,
    kind: ErrorKind,
    details: string | string[],
    readonly headers: Record<string, string> = {},
  ) {
    const list = Array.isArray(details) ? details : [details];
    super(list.join('; '));
    this.entries = list.map((detail) => ({ ...errorCodes[kind], details: detail }));
  }
}

export const invalid = (details: string | string[], status: ContentfulStatusCode = 400) => new ApiError(status, 'invalidParameter', details);
export const missing = (details: string) => new ApiError(400, 'missingParameter', details);
/** The challenges 401 answers carry (RFC 9110 §11.6.1): Basic for the login, Bearer for every token route. */
export const BASIC_CHALLENGE = 'Basic realm="hotcert", charset="UTF-8"';
export const BEARER_CHALLENGE = 'Bearer realm="hotcert"';
export const unauthorized = (details: string, challenge: string = BEARER_CHALLENGE) =>
  new ApiError(401, 'accessDenied', details, { 'WWW-Authenticate': challenge });
export const forbidden = (details: string) => new ApiError(403, 'accessDenied', details);
export const notFound = (details: string) => new ApiError(404, 'notFound', details);
export const tooMany = (details: string, retryAfterSeconds: number) =>
  new ApiError(429, 'tooManyRequests', details, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
export const notReady = (details: string, retryAfterSeconds: number) =>
  new ApiError(503, 'notReady', details, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
