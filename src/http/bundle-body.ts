import type { Context, MiddlewareHandler } from 'hono';
import { uniqueSymbol } from 'hono-openapi';
import type { UploadInput } from '../certificates/certificate-service.js';
import { errorResponses } from '../openapi/responses.js';
import { PKCS12_PASSWORD_HEADER } from '../validation/pkcs12.js';
import { readBodyBytes } from './body-limit.js';
import { ApiError, missing } from './errors.js';
import { PEM_TYPES, readPem } from './pem-body.js';

/** PKCS#12 (PFX), as Windows / AD CS exports it; `application/pkcs12` is the other name in use. */
const PKCS12_TYPES = new Set(['application/x-pkcs12', 'application/pkcs12']);

const mediaType = (c: Context) => (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();

/** The certificate upload takes a PEM bundle or a PKCS#12 file; 415 for anything else. */
const checkBundleContentType: MiddlewareHandler = async function bundleContentType(c, next) {
  const type = mediaType(c);
  if (!PEM_TYPES.has(type) && !PKCS12_TYPES.has(type)) {
    throw new ApiError(
      415,
      'invalidParameter',
      `send the PEM bundle with Content-Type: text/plain (curl: -H "Content-Type: text/plain" --data-binary @bundle.pem), or a PFX file with Content-Type: application/x-pkcs12 and its password in ${PKCS12_PASSWORD_HEADER}`,
    );
  }
  return next();
};

const pemSchema = { type: 'string' as const, description: 'PEM text (UTF-8).' };
const pkcs12Schema = { type: 'string' as const, format: 'binary', description: `A PKCS#12 (PFX) file with the key and the chain; its password in the ${PKCS12_PASSWORD_HEADER} header.` };
export const bundleContentType = Object.assign(checkBundleContentType, {
  [uniqueSymbol]: {
    spec: {
      parameters: [
        {
          name: PKCS12_PASSWORD_HEADER,
          in: 'header',
          required: false,
          schema: { type: 'string' },
          description: 'The password of a PKCS#12 upload (UTF-8); absent means an empty password. Never logged or stored.',
        },
      ],
      requestBody: {
        required: true,
        content: {
          ...Object.fromEntries([...PEM_TYPES].map((type) => [type, { schema: pemSchema }])),
          ...Object.fromEntries([...PKCS12_TYPES].map((type) => [type, { schema: pkcs12Schema }])),
        },
      },
      responses: errorResponses([415], { 415: 'The Content-Type is not text/plain (or application/x-pem-file, application/pem-certificate-chain), nor application/x-pkcs12.' }),
    },
  },
});

/** The upload: PEM bytes, or a PKCS#12 file and its password (converted and validated in the worker). */
export async function readBundle(c: Context): Promise<UploadInput> {
  if (!PKCS12_TYPES.has(mediaType(c))) return readPem(c);
  const bytes = await readBodyBytes(c);
  if (bytes.length === 0) throw missing('the body must hold the PKCS#12 (PFX) file');
  // Header values arrive as latin-1; a UTF-8 password is sent as its bytes.
  const password = Buffer.from(c.req.header(PKCS12_PASSWORD_HEADER) ?? '', 'latin1').toString('utf8');
  return { pkcs12: bytes, password };
}
