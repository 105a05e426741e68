import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { meta } from './meta.js';

const JSON_TYPE = { 'Content-Type': 'application/json; charset=UTF-8' };

/** JSON with its charset, set when the response is built (changing headers afterwards makes Hono copy it). */
export function json(c: Context, value: unknown, status: ContentfulStatusCode = 200): Response {
  return c.body(JSON.stringify(value), status, JSON_TYPE);
}

/** Every JSON answer carries `meta` (SPEC §3). */
export function reply(c: Context, body: Record<string, unknown> | null, status: ContentfulStatusCode = 200): Response {
  return json(c, body === null ? null : { ...body, meta }, status);
}
