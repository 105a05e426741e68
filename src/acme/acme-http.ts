import https from 'node:https';
import tls from 'node:tls';
import acme from 'acme-client';

/**
 * acme-client sends every request through its one axios instance, so the agent that trusts a private
 * ACME server's CA (ACME_DIRECTORY_CA_FILE) is set there: one ACME directory per process.
 * Verification stays on; the CA is added to the system roots, never a replacement for checks.
 */
export function configureAcmeHttp(directoryCaPem: string | undefined, timeoutMs = 30_000): void {
  acme.axios.defaults.httpsAgent = new https.Agent({ keepAlive: false, ...(directoryCaPem ? { ca: [...tls.rootCertificates, directoryCaPem] } : {}) });
  acme.axios.defaults.timeout = timeoutMs;
  acme.setLogger(() => undefined);
}

/** GET a JSON document from the ACME server through the same agent (the directory, RFC 9773 renewal information). */
export async function getJson(url: string): Promise<{ status: number; data: unknown; retryAfter: string | undefined }> {
  const response = await acme.axios.get(url, { validateStatus: () => true, responseType: 'json' });
  return { status: response.status, data: response.data as unknown, retryAfter: response.headers['retry-after'] as string | undefined };
}
