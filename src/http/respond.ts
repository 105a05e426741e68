import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { meta } from './meta.js';

/** Every JSON answer carries `meta` (SPEC §3). */
export function reply(c: Context, body: Record<string, unknown> | null, status: ContentfulStatusCode = 200): Response {
  return c.json(body === null ? null : { ...body, meta }, status);
}
