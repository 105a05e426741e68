import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError, missing } from './errors.js';

const PEM_TYPES = new Set(['text/plain', 'application/x-pem-file', 'application/pem-certificate-chain']);

/** 415 for anything but PEM text; 413 as soon as the stream passes the limit, before buffering it all. */
export function pemBody(maxBytes: number): MiddlewareHandler[] {
  const contentType: MiddlewareHandler = async function pemContentType(c, next) {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!PEM_TYPES.has(type)) {
      throw new ApiError(415, 'invalidParameter', 'send the PEM bundle with Content-Type: text/plain (curl: -H "Content-Type: text/plain" --data-binary @bundle.pem)');
    }
    return next();
  };
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, 'invalidParameter', `the body is larger than ${maxBytes} bytes (MAX_UPLOAD_BYTES)`);
    },
  });
  return [contentType, limit];
}

export async function readPem(c: Context): Promise<Uint8Array> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.length === 0) throw missing('the body must hold the PEM bundle: private key, server certificate, intermediates');
  return bytes;
}
