import https from 'node:https';

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  agent: https.Agent;
  /** The whole exchange (connect, TLS, answer) must end within this. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export type WebhookAnswer = { ok: true; statusCode: number } | { ok: false; statusCode: number | null; error: string };

/** Errors that mean "hotcert does not trust the receiver's certificate" (the fix is the webhook CA bundle). */
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function describeError(error: NodeJS.ErrnoException): string {
  const code = error.code ?? error.name;
  const text = `${code}: ${error.message}`.slice(0, 300);
  if (TLS_TRUST_CODES.has(code)) return `TLS: ${text} (upload the receiver's CA with POST /v1/certificates/webhooks/ca)`;
  return text;
}

/** One POST over the outbound trust store. Never throws: the answer says what happened. Redirects are not followed. */
export function sendWebhook(request: WebhookRequest): Promise<WebhookAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answer: WebhookAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(answer);
    };
    const req = https.request(request.url, {
      method: 'POST',
      agent: request.agent,
      headers: { ...request.headers, 'Content-Length': String(Buffer.byteLength(request.body)) },
      signal: request.signal,
    });
    const deadline = setTimeout(() => {
      finish({ ok: false, statusCode: null, error: `timeout: no complete answer within ${request.timeoutMs} ms` });
      req.destroy();
    }, request.timeoutMs);
    req.on('response', (res) => {
      const statusCode = res.statusCode ?? 0;
      // The body is not kept; reading it to the end lets the keep-alive socket be reused.
      res.resume();
      res.on('end', () => finish(statusCode >= 200 && statusCode < 300 ? { ok: true, statusCode } : { ok: false, statusCode, error: `HTTP ${statusCode}` }));
      res.on('error', (error) => finish({ ok: false, statusCode, error: describeError(error) }));
    });
    req.on('error', (error) => finish({ ok: false, statusCode: null, error: describeError(error) }));
    req.end(request.body);
  });
}
