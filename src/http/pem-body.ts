import type { Context, MiddlewareHandler } from 'hono';
import { uniqueSymbol } from 'hono-openapi';
import { errorResponses } from '../openapi/responses.js';
import { readBodyBytes } from './body-limit.js';
import { ApiError, missing } from './errors.js';

export const PEM_TYPES = new Set(['text/plain', 'application/x-pem-file', 'application/pem-certificate-chain']);

/** 415 for anything but PEM text. (The size limit is app-wide: see limitBody in app.ts.) */
const checkPemContentType: MiddlewareHandler = async function pemContentType(c, next) {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!PEM_TYPES.has(type)) {
    throw new ApiError(415, 'invalidParameter', 'send the PEM bundle with Content-Type: text/plain (curl: -H "Content-Type: text/plain" --data-binary @bundle.pem)');
  }
  return next();
};

const pemSchema = { type: 'string' as const, description: 'PEM text (UTF-8).' };
export const pemContentType = Object.assign(checkPemContentType, {
  [uniqueSymbol]: {
    spec: {
      requestBody: { required: true, content: Object.fromEntries([...PEM_TYPES].map((type) => [type, { schema: pemSchema }])) },
      responses: errorResponses([415], { 415: 'The Content-Type is not text/plain (or application/x-pem-file, application/pem-certificate-chain).' }),
    },
  },
});

export async function readPem(c: Context): Promise<Uint8Array> {
  const bytes = await readBodyBytes(c);
  if (bytes.length === 0) throw missing('the body must hold the PEM bundle: private key, server certificate, intermediates');
  return bytes;
}
