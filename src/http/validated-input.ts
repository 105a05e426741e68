import type { Env, MiddlewareHandler } from 'hono';
import { resolver, uniqueSymbol, validator } from 'hono-openapi';
import type { z } from 'zod';
import { ApiError, errorCodes, type ErrorEntry } from './errors.js';
import { readJsonObject } from './read-json.js';

/** One envelope entry per schema problem: 1008 when the value is absent, 1009 when it is wrong. */
export class RequestRejected extends ApiError {
  override readonly entries: ErrorEntry[];

  constructor(entries: ErrorEntry[]) {
    super(400, 'invalidParameter', entries.map((entry) => entry.details));
    this.entries = entries;
  }
}

/** A Standard Schema issue (zod's and the validator middleware's share this shape). */
interface Issue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}
type PathSegment = NonNullable<Issue['path']>[number];

const keyOf = (segment: PathSegment) => (typeof segment === 'object' ? segment.key : segment);

function valueAt(input: unknown, path: readonly PathSegment[]): unknown {
  let cursor = input;
  for (const segment of path) {
    if (cursor === null || typeof cursor !== 'object') return undefined;
    cursor = (cursor as Record<PropertyKey, unknown>)[keyOf(segment)];
  }
  return cursor;
}

export function rejectedBy(issues: readonly Issue[], input: unknown): RequestRejected {
  return new RequestRejected(
    issues.map((issue) => {
      const absent = (issue.path?.length ?? 0) > 0 && valueAt(input, issue.path ?? []) == null;
      return { ...errorCodes[absent ? 'missingParameter' : 'invalidParameter'], details: issue.message };
    }),
  );
}

type Validated<Target extends string, S extends z.ZodType> = { in: { [K in Target]: z.input<S> }; out: { [K in Target]: z.output<S> } };

/**
 * The JSON object body, checked by `schema`; the same schema documents the request body in /v1/openapi.json.
 * Read whatever the Content-Type (curl -d sends form encoding), `{}` when empty unless `required`.
 * Fields the schema does not name are dropped before the handler sees them: a new field goes into the schema.
 */
export function jsonBody<S extends z.ZodType>(schema: S, { required = false, description }: { required?: boolean; description?: string } = {}) {
  const middleware: MiddlewareHandler<Env, string, Validated<'json', S>> = async function jsonBodyMiddleware(c, next) {
    const raw = await readJsonObject(c, { required });
    const result = await schema.safeParseAsync(raw);
    if (!result.success) throw rejectedBy(result.error.issues, raw);
    c.req.addValidatedData('json', result.data as object);
    await next();
  };
  const requestBody = { required, ...(description ? { description } : {}), content: { 'application/json': { schema: resolver(schema) } } };
  return Object.assign(middleware, { [uniqueSymbol]: { spec: { requestBody } } });
}

function checked<Target extends 'query' | 'param' | 'header', S extends z.ZodType>(target: Target, schema: S) {
  return validator(target, schema, (result) => {
    if (!result.success) throw rejectedBy(result.error, result.data);
  }) as unknown as MiddlewareHandler<Env, string, Validated<Target, S>>;
}

/** Query, path and header parameters, checked and documented by one zod object each. */
export const query = <S extends z.ZodType>(schema: S) => checked('query', schema);
export const params = <S extends z.ZodType>(schema: S) => checked('param', schema);
export const headers = <S extends z.ZodType>(schema: S) => checked('header', schema);
