import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from './errors.js';

/** Node's request behind the adapter, when there is one (not under app.request() in tests). */
export function nodeIncoming(c: Context): HttpBindings['incoming'] | undefined {
  return (c.env as Partial<HttpBindings> | undefined)?.incoming;
}

/** A body whose declared length we can trust and nobody has started reading. */
export function hasPlainLength(incoming: HttpBindings['incoming'] | undefined): incoming is HttpBindings['incoming'] {
  return !!incoming && incoming.headers['content-length'] !== undefined && incoming.headers['transfer-encoding'] === undefined && !incoming.readableDidRead;
}

/**
 * No body may exceed `maxBytes`. A declared Content-Length is checked from Node's headers; a chunked
 * body goes through Hono's limit, which counts bytes as they arrive. (Hono's limit alone makes the
 * adapter build a full web Request for every body, ~0.3 ms per upload.) GET and HEAD are skipped.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => new ApiError(413, 'invalidParameter', `the body is larger than ${maxBytes} bytes (MAX_UPLOAD_BYTES)`);
  const streaming = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async function limitBodyMiddleware(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const incoming = nodeIncoming(c);
    if (hasPlainLength(incoming)) {
      if (Number(incoming.headers['content-length']) > maxBytes) throw tooLarge();
      return next();
    }
    return streaming(c, next);
  };
}

/** The whole body as bytes, straight from Node's stream when the length is declared. */
export async function readBodyBytes(c: Context): Promise<Uint8Array> {
  const incoming = nodeIncoming(c);
  if (!hasPlainLength(incoming)) return new Uint8Array(await c.req.arrayBuffer());
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
