import { createRequire } from 'node:module';
import https from 'node:https';
import tls from 'node:tls';

type AcmeClient = typeof import('acme-client');
let acmeLibrary: AcmeClient | undefined;
/**
 * acme-client (axios and its crypto under it), loaded when ACME is first used: its import is the largest part
 * of a start (~0.3 s of CPU) that every server and CLI command without ACME would otherwise pay.
 */
export const acmeClient = (): AcmeClient => (acmeLibrary ??= createRequire(import.meta.url)('acme-client') as AcmeClient);

/** Per request to the CA: its timeout, and retries of server errors, rate limits and refused connections. */
export interface RequestRetry {
  timeoutMs: number;
  attempts: number;
  delaySeconds: number;
}

const DEFAULT_RETRY: RequestRetry = { timeoutMs: 30_000, attempts: 3, delaySeconds: 1 };

/**
 * acme-client sends every request through its one axios instance, so the agent that trusts a private
 * ACME server's CA (ACME_DIRECTORY_CA_FILE) is set there: one ACME directory per process.
 * Verification stays on; the CA is added to the system roots, never a replacement for checks.
 */
export function configureAcmeHttp(directoryCaPem: string | undefined, retry: RequestRetry = DEFAULT_RETRY): void {
  const acme = acmeClient();
  acme.axios.defaults.httpsAgent = new https.Agent({ keepAlive: false, ...(directoryCaPem ? { ca: [...tls.rootCertificates, directoryCaPem] } : {}) });
  acme.axios.defaults.timeout = retry.timeoutMs;
  // acme-client retries a refused connection 5 times, 5 s more each time, inside every status poll: minutes
  // before an unreachable CA counts as a failure. Fewer and shorter here; the renewal backoff does the rest.
  const settings = (acme.axios.defaults as { acmeSettings?: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings;
  if (settings) {
    settings.retryMaxAttempts = retry.attempts;
    settings.retryDefaultDelay = retry.delaySeconds;
  }
  nameNetworkErrors(retry.attempts);
  acme.setLogger(() => undefined);
}

/** GET a JSON document from the ACME server through the same agent (the directory, RFC 9773 renewal information). */
export async function getJson(url: string): Promise<{ status: number; data: unknown; retryAfter: string | undefined }> {
  const response = await acmeClient().axios.get(url, { validateStatus: () => true, responseType: 'json' });
  return { status: response.status, data: response.data as unknown, retryAfter: response.headers['retry-after'] as string | undefined };
}

let networkErrorsNamed = false;

/**
 * acme-client's retry interceptor turns the last refused connection into "Cannot read properties of
 * undefined": this runs before it and, once the retries are spent, rejects with what happened instead
 * (an error without `config`, which acme-client passes on untouched).
 */
function nameNetworkErrors(attempts: number): void {
  maxAttempts = attempts;
  if (networkErrorsNamed) return;
  networkErrorsNamed = true;
  const handlers = (acmeClient().axios.interceptors.response as unknown as { handlers: unknown[] }).handlers;
  handlers.unshift({
    fulfilled: (response: unknown) => response,
    rejected: (error: { response?: unknown; code?: string; message?: string; config?: { url?: string; retryAttempt?: number } }) => {
      if (error.response || !error.config || (error.config.retryAttempt ?? 0) < maxAttempts) return Promise.reject(error);
      let origin = 'the ACME server';
      try {
        origin = new URL(error.config.url ?? '').origin;
      } catch {
        // keep the generic name
      }
      return Promise.reject(new Error(`cannot reach ${origin}: ${error.code ?? error.message ?? 'network error'}`));
    },
    synchronous: false,
    runWhen: null,
  });
}
let maxAttempts = DEFAULT_RETRY.attempts;
