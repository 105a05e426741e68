import type { Context } from 'hono';
import { invalid, missing } from './errors.js';

/** The JSON object body, `{}` for an empty body; a clear 400 for anything else. */
export async function readJsonObject(c: Context, { required = false } = {}): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') {
    if (required) throw missing('a JSON object body is required');
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid('the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('the body must be a JSON object');
  return value as Record<string, unknown>;
}
