import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { finding, type Finding } from '../validation/findings.js';
import { releaseSecureContext } from './release-context.js';

/** SPEC rule 8: proves with a real handshake on 127.0.0.1 that Node's TLS can serve the bundle. */
export const CANARY_TIMEOUT_MS = 3000;

export interface CanaryBundle {
  keyPem: string;
  certPem: string;
  chainPems: string[];
}

const FIX = 'check that the private key belongs to the server certificate and that the chain is complete, then upload again';

/** Error codes and OpenSSL reasons are safe to show; free text could quote input, so it is never shown. */
function reason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{1,80}$/.test(code)) return code;
  const opensslReason = (error as { reason?: unknown } | null)?.reason;
  if (typeof opensslReason === 'string' && /^[A-Za-z0-9 _-]{1,80}$/.test(opensslReason)) return opensslReason;
  return 'unknown error';
}

function failed(why: string): Finding {
  return finding('canary-handshake', `a test TLS handshake with the new certificate failed (${why}); ${FIX}`);
}

interface CanaryListener {
  server: tls.Server;
  port: number;
}

/** One listener per thread for every canary: candidates are told apart by a unique SNI name. */
const candidates = new Map<string, tls.SecureContext>();
let listener: Promise<CanaryListener> | undefined;
let clientContext: tls.SecureContext | undefined;
let sequence = 0;

function canaryListener(): Promise<CanaryListener> {
  listener ??= new Promise<CanaryListener>((resolve, reject) => {
    const server = tls.createServer({
      SNICallback: (name, callback) => {
        const context = candidates.get(name);
        if (context) callback(null, context);
        else callback(new Error('unknown canary'));
      },
    });
    server.on('tlsClientError', () => undefined);
    server.on('secureConnection', (serverSide) => {
      serverSide.on('error', () => undefined);
      serverSide.end();
    });
    server.once('error', (error) => {
      listener = undefined;
      reject(error);
    });
    server.listen(0, '127.0.0.1', () => {
      // Never keeps a thread or the CLI alive on its own.
      server.unref();
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
  return listener;
}

/** Resolves null when a client completes a handshake and sees the leaf certificate; a Finding otherwise. Never rejects. */
export async function canaryHandshake(bundle: CanaryBundle, timeoutMs: number = CANARY_TIMEOUT_MS): Promise<Finding | null> {
  let expected: string;
  let context: tls.SecureContext;
  try {
    expected = new X509Certificate(bundle.certPem).fingerprint256;
    context = tls.createSecureContext({ key: bundle.keyPem, cert: [bundle.certPem, ...bundle.chainPems].join('\n') });
  } catch (error) {
    return finding('canary-handshake', `Node's TLS refused the key and certificate (${reason(error)}); ${FIX}`);
  }
  // Registered before waiting for the listener, so closeIdleCanaryListener sees this canary as in flight.
  const name = `canary-${++sequence}.hotcert.invalid`;
  candidates.set(name, context);
  let port: number;
  try {
    port = (await canaryListener()).port;
  } catch (error) {
    candidates.delete(name);
    releaseSecureContext(context);
    return failed(`no loopback listener (${reason(error)})`);
  }
  clientContext ??= tls.createSecureContext();

  return new Promise<Finding | null>((resolve) => {
    let settled = false;
    const socket = tls.connect({ host: '127.0.0.1', port, servername: name, secureContext: clientContext, rejectUnauthorized: false });
    const finish = (result: Finding | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      candidates.delete(name);
      socket.destroy();
      releaseSecureContext(context);
      resolve(result);
    };
    const timer = setTimeout(() => finish(failed(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (error) => finish(failed(reason(error))));
    socket.on('secureConnect', () => {
      const seen = socket.getPeerCertificate().fingerprint256;
      finish(seen === expected ? null : failed('the server presented a different certificate'));
    });
  });
}

/** Closes this thread's listener unless a canary is in flight; the next canary opens a new one. */
export async function closeIdleCanaryListener(): Promise<void> {
  const current = listener;
  if (!current || candidates.size > 0) return;
  listener = undefined;
  let server: tls.Server;
  try {
    ({ server } = await current);
  } catch {
    return;
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
