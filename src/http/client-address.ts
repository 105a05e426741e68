import type { Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';

export function clientAddress(c: Context): string {
  const env = c.env as Partial<HttpBindings> | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}
