import https from 'node:https';
import tls from 'node:tls';
import { loginAsAdmin } from '../test/helpers/admin-login.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A keep-alive HTTPS client for one server (the certificate is self-made, so it is not verified). */
export function createClient(port: number, maxSockets = 64, localAddress?: string) {
  const agent = new https.Agent({ keepAlive: true, maxSockets, rejectUnauthorized: false });
  function request(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, method, path, headers, agent, servername: 'localhost', timeout: 30_000, ...(localAddress ? { localAddress } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }
  return { request, close: () => agent.destroy() };
}

export type Client = ReturnType<typeof createClient>;

/** First login changes the default admin password; later ones use the new one (the tests' login, over this client). */
export function adminToken(client: Client): Promise<string> {
  return loginAsAdmin(async (headers, body) => {
    const res = await client.request('POST', '/v1/users/login', headers, body);
    return { status: res.status, text: res.body };
  });
}

export function upload(client: Client, token: string, pem: string, query = ''): Promise<Reply> {
  return client.request('POST', `/v1/certificates/external${query}`, { Authorization: `Bearer ${token}`, 'Content-Type': 'text/plain' }, pem);
}

/** `validate;dur=1.2, canary;dur=3.4` → { validate: 1.2, canary: 3.4 } (ms). */
export function parseServerTiming(header: string | string[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of String(header ?? '').split(',')) {
    const match = /^\s*([\w-]+)\s*;\s*dur=([\d.]+)/.exec(part);
    if (match) out[match[1]!] = Number(match[2]);
  }
  return out;
}

export interface Handshake {
  ok: boolean;
  fingerprint256?: string;
  code?: string;
  /** performance.now() when the handshake completed (or failed). */
  at: number;
}

/** One new full TLS handshake (no session reuse); resolves with the leaf the server presented. Never rejects. */
export function handshake(port: number, timeoutMs = 5_000): Promise<Handshake> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false });
    const finish = (result: Handshake) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, code: 'TIMEOUT', at: performance.now() }), timeoutMs);
    socket.once('secureConnect', () => finish({ ok: true, fingerprint256: socket.getPeerCertificate().fingerprint256, at: performance.now() }));
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ ok: false, code: error.code ?? error.message, at: performance.now() }));
  });
}

/**
 * `concurrency` loops that each open a new TLS connection, wait for the handshake, close it, and start again,
 * until stop() or `maxMs`. Counts successes, failures, and leaves outside `expected` (if given).
 */
export function handshakeLoop(port: number, options: { concurrency: number; maxMs: number; expected?: Set<string> }) {
  const counts = { ok: 0, failed: 0, unexpectedLeaf: 0, failures: {} as Record<string, number> };
  const deadline = performance.now() + options.maxMs;
  let stopped = false;
  const startedAt = performance.now();
  async function loop() {
    while (!stopped && performance.now() < deadline) {
      const result = await handshake(port);
      if (!result.ok) {
        counts.failed++;
        counts.failures[result.code ?? 'unknown'] = (counts.failures[result.code ?? 'unknown'] ?? 0) + 1;
      } else {
        counts.ok++;
        if (options.expected && !options.expected.has(result.fingerprint256 ?? '')) counts.unexpectedLeaf++;
      }
    }
  }
  const loops = Array.from({ length: options.concurrency }, () => loop());
  return {
    counts,
    /** Snapshot of the counts so far, for splitting one run into phases. */
    snapshot: () => ({ ...counts, failures: { ...counts.failures }, at: performance.now() }),
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return { ...counts, seconds: (performance.now() - startedAt) / 1000 };
    },
  };
}
