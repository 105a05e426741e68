import { createHmac, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRoot, issue, pemBundle, type IssuedCert } from './pki.js';

export interface ReceivedHook {
  headers: IncomingMessage['headers'];
  body: string;
  json: { id: string; type: string; created_at: string; data: Record<string, unknown> };
}

/** What the receiver does with the next request: answer a status, or hold it until `release()`. */
export type Behaviour = { status: number } | { hang: true };

/**
 * A local HTTPS webhook receiver on 127.0.0.1 with a certificate from its own test CA (root → intermediate → leaf),
 * so hotcert reaches it only after that root is uploaded as the webhook CA bundle.
 */
export async function startWebhookReceiver() {
  const root = await createRoot();
  const ca = await issue(root, { isCa: true });
  const leaf: IssuedCert = await issue(ca, { sans: ['localhost', '127.0.0.1'] });
  const received: ReceivedHook[] = [];
  const script: Behaviour[] = [];
  const held: ServerResponse[] = [];
  const events = new EventEmitter();
  let tlsFailures = 0;

  const server: Server = createServer({ key: leaf.keyPem, cert: pemBundle(leaf.certPem, ca.certPem) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body, json: JSON.parse(body) as ReceivedHook['json'] });
      const behaviour = script.shift() ?? { status: 200 };
      if ('hang' in behaviour) held.push(res);
      else res.writeHead(behaviour.status, { 'Content-Type': 'text/plain' }).end('ok');
      events.emit('change');
    });
  });
  server.on('tlsClientError', () => {
    tlsFailures += 1;
    events.emit('change');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  /** Resolves when `accept()` holds (checked on every request and TLS failure); rejects after `timeoutMs` (a safety net). */
  const until = (accept: () => boolean, what: string, timeoutMs = 60_000) =>
    new Promise<void>((resolve, reject) => {
      if (accept()) return resolve();
      const timer = setTimeout(() => {
        events.off('change', check);
        reject(new Error(`receiver: ${what} did not happen within ${timeoutMs} ms (received ${received.length}: ${received.map((r) => r.json.type).join(', ')}; TLS failures ${tlsFailures})`));
      }, timeoutMs);
      const check = () => {
        if (!accept()) return;
        clearTimeout(timer);
        events.off('change', check);
        resolve();
      };
      events.on('change', check);
    });

  return {
    root,
    url: `https://127.0.0.1:${port}/hooks/hotcert`,
    received,
    get tlsFailures() {
      return tlsFailures;
    },
    get held() {
      return held.length;
    },
    /** The next requests get these answers, in order (then 200). */
    answer: (...behaviours: Behaviour[]) => script.push(...behaviours),
    /** Answers every held request with 200. */
    release: () => {
      for (const res of held.splice(0)) res.writeHead(200).end('late');
    },
    until,
    /** Waits for a received event of `type` that `match` accepts; returns it. */
    async event(type: string, match: (hook: ReceivedHook) => boolean = () => true): Promise<ReceivedHook> {
      const find = () => received.find((hook) => hook.json.type === type && match(hook));
      await until(() => find() !== undefined, `a ${type} event`);
      return find()!;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

/** The receiver's side of the contract: X-Hotcert-Signature is t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>. */
export function signatureValid(hook: ReceivedHook, secret: string): boolean {
  const header = String(hook.headers['x-hotcert-signature'] ?? '');
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${hook.body}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}
