import { resolver } from 'hono-openapi';
import { z } from 'zod';
import { errorCodes, type ErrorKind } from '../http/errors.js';

/** Response schemas are documented as what the server writes (`additionalProperties: false`), so a new field shows as drift. */
const written = <S extends z.ZodType>(schema: S) => resolver(schema, { options: { io: 'output' } });

export const metaSchema = z
  .object({ api_status: z.literal('stable'), version: z.string() })
  .meta({ id: 'Meta', description: 'On every JSON answer (SPEC §3).' });

/** A JSON answer: `body` plus `meta`. */
export const withMeta = <T extends z.ZodRawShape>(shape: T) => z.object({ ...shape, meta: metaSchema });

export function jsonResponse(schema: z.ZodType, description: string, headers?: Record<string, { description: string; schema: { type: 'string' } }>) {
  return { description, ...(headers ? { headers } : {}), content: { 'application/json': { schema: written(schema) } } };
}

export const nullResponse = (description: string) => jsonResponse(z.null(), `${description} The body is JSON \`null\`.`);

export const textResponse = (description: string, media = 'text/plain') => ({ description, content: { [media]: { schema: { type: 'string' as const } } } });

/** No body at all (the WhatsApp API's 404 for `GET …/ca`). */
export const emptyResponse = (description: string) => ({ description });

const retryAfter = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'string' as const } } };
const challenge = { 'WWW-Authenticate': { description: 'The scheme to authenticate with: Basic on the login, Bearer elsewhere.', schema: { type: 'string' as const } } };
const headersOf = (status: number): typeof challenge | typeof retryAfter | undefined => (status === 401 ? challenge : status === 429 || status === 503 || status === 507 ? retryAfter : undefined);

/** SPEC §3 "Errors": which codes each HTTP status carries. */
const errorStatuses = {
  400: { kinds: ['invalidParameter', 'missingParameter', 'passwordChangeRequired'], description: 'A value is wrong (1009, one entry per problem) or missing (1008); 1024 when the default password must be changed.' },
  401: { kinds: ['accessDenied'], description: 'No, bad or expired token; bad credentials.' },
  403: { kinds: ['accessDenied'], description: 'Authenticated, but not allowed.' },
  404: { kinds: ['notFound'], description: 'Unknown route or object.' },
  409: { kinds: ['alreadyExists'], description: 'The object already exists.' },
  412: { kinds: ['invalidParameter'], description: '`If-Match` does not name the active certificate: another change got there first.' },
  413: { kinds: ['invalidParameter'], description: 'The body is larger than MAX_UPLOAD_BYTES.' },
  415: { kinds: ['invalidParameter'], description: 'Wrong Content-Type.' },
  429: { kinds: ['tooManyRequests'], description: 'Throttled; retry after `Retry-After` seconds.' },
  500: { kinds: ['internal'], description: 'A bug; the answer never holds a stack or key material, the server log has the request id.' },
  503: { kinds: ['notReady'], description: 'Busy (validation pool, database lock) or not ready; retry after `Retry-After` seconds.' },
  507: { kinds: ['notReady'], description: 'The data directory is full, read-only or gone: nothing was changed; hotcert recovers by itself once it is fixed.' },
} satisfies Record<number, { kinds: ErrorKind[]; description: string }>;

export type ErrorStatus = keyof typeof errorStatuses;

export function errorEnvelopeSchema(status: ErrorStatus) {
  const kinds = errorStatuses[status].kinds as readonly ErrorKind[];
  const entry = z.union(
    kinds.map((kind) => z.object({ code: z.literal(errorCodes[kind].code), title: z.literal(errorCodes[kind].title), details: z.string() })),
  );
  return z.object({ errors: z.array(entry).min(1), meta: metaSchema }).meta({ id: `ErrorEnvelope${status}`, description: 'The WhatsApp error envelope.' });
}

/** The documented error answers of an operation; `details` overrides the generic description of a status. */
export function errorResponses(statuses: ErrorStatus[], details: Partial<Record<ErrorStatus, string>> = {}) {
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      jsonResponse(errorEnvelopeSchema(status), details[status] ?? errorStatuses[status].description, headersOf(status)),
    ]),
  );
}
