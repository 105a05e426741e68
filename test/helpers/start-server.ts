import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startHotcert, type Hotcert, type StartOptions } from '../../src/instance.js';
import { createLogger } from '../../src/observability/logger.js';
import { ADMIN_PASSWORD, loginAsAdmin } from './admin-login.js';
import type { LogEntry } from './server-process.js';
import { bearer, jsonOrUndefined, request, type HttpsResponse, type RequestOptions } from './https-client.js';

export { ADMIN_PASSWORD };

export interface TestServer {
  hotcert: Hotcert;
  port: number;
  dataDir: string;
  logs: string[];
  /** Resolves with the first log line (parsed) `match` accepts, already written or still to come; `timeoutMs` is a safety net. */
  waitForLog(match: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** `freeze()` stops time for the server (locks and lifetimes then end only when a test advances it). */
  clock: { now: number; advance(ms: number): void; freeze(): void };
  request(method: string, path: string, options?: RequestOptions): Promise<HttpsResponse>;
  /** Logs in as admin (changing the default password on first use) and returns the token. */
  adminToken(): Promise<string>;
  upload(pem: string | Buffer, token: string, headers?: Record<string, string>, query?: string): Promise<HttpsResponse>;
  restart(): Promise<void>;
  close(options?: { keepData?: boolean }): Promise<void>;
}

function parseLogLine(line: string): LogEntry | undefined {
  try {
    return JSON.parse(line) as LogEntry;
  } catch {
    return undefined;
  }
}

/** A request answered by the Hono app in this process, without a socket (and without a client address). */
async function appRequest(hotcert: Hotcert, method: string, path: string, options: RequestOptions = {}): Promise<HttpsResponse> {
  const body = typeof options.body === 'string' || options.body === undefined ? options.body : new Uint8Array(options.body);
  const res = await hotcert.app.request(path, { method, ...(options.headers ? { headers: options.headers } : {}), ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => (headers[name] = value));
  return { status: res.status, headers, text, json: jsonOrUndefined(text) };
}

/**
 * hotcert in this process on 127.0.0.1:0 with a fresh data directory and a controllable clock.
 * `via: 'app'` sends `request`, `adminToken` and `upload` through `app.request()` instead of HTTPS: for tests of
 * API logic, where a TLS handshake per request adds time and nothing else (TLS tests keep the default).
 */
export async function startTestServer(
  options: { env?: Record<string, string>; dataDir?: string; start?: Partial<StartOptions>; via?: 'https' | 'app' } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'hotcert-test-'));
  const logs: string[] = [];
  const waiters = new Set<(entry: LogEntry) => void>();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = chunk.toString('utf8').split('\n').filter(Boolean);
      logs.push(...lines);
      for (const line of waiters.size > 0 ? lines : []) {
        const entry = parseLogLine(line);
        if (entry) for (const waiter of [...waiters]) waiter(entry);
      }
      done();
    },
  });
  const offset = { ms: 0 };
  let frozen: number | undefined;
  const clock = {
    get now() { return frozen ?? Date.now() + offset.ms; },
    advance: (ms: number) => (frozen === undefined ? (offset.ms += ms) : (frozen += ms)),
    freeze: () => void (frozen = clock.now),
  };
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...options.env });
  const logger = createLogger(config.logLevel, sink);
  const boot = () => startHotcert(config, { logger, clock: () => clock.now, processMetrics: false, syncIntervalMs: 100, ...options.start });
  let hotcert = await boot();
  let token: string | undefined;

  const server: TestServer = {
    get hotcert() { return hotcert; },
    get port() { return hotcert.port; },
    dataDir,
    logs,
    waitForLog(match, timeoutMs = 15_000) {
      const written = logs.map(parseLogLine).find((entry) => entry !== undefined && match(entry));
      if (written) return Promise.resolve(written);
      return new Promise<LogEntry>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`the awaited log line did not come within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (entry: LogEntry) => {
          if (!match(entry)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(entry);
        };
        waiters.add(waiter);
      });
    },
    clock,
    request: (method, p, requestOptions) => (options.via === 'app' ? appRequest(hotcert, method, p, requestOptions) : request(hotcert.port, method, p, requestOptions)),
    async adminToken() {
      if (token) {
        const check = await server.request('GET', '/v1/certificates/external', { headers: bearer(token) });
        if (check.status === 200) return token;
      }
      token = await loginAsAdmin((headers, body) => server.request('POST', '/v1/users/login', { headers, body }));
      return token;
    },
    upload: (pem, t, headers = {}, query = '') =>
      server.request('POST', `/v1/certificates/external${query}`, {
        headers: { ...bearer(t), 'Content-Type': 'text/plain', ...headers },
        body: pem,
      }),
    async restart() {
      const port = hotcert.port;
      await hotcert.close(1000);
      hotcert = await startHotcert({ ...config, port }, { logger, clock: () => clock.now, processMetrics: false, syncIntervalMs: 100, ...options.start });
      token = undefined;
    },
    async close({ keepData = false } = {}) {
      await hotcert.close(1000);
      if (!keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

/**
 * One server for the enclosing describe block: started and logged in as admin in beforeAll, closed in afterAll.
 * Read `server` and `token` inside hooks and tests (they are set once beforeAll has run).
 */
export function useAdminServer(options: Parameters<typeof startTestServer>[0] = {}): { server: TestServer; token: string } {
  const context = {} as { server: TestServer; token: string };
  beforeAll(async () => {
    context.server = await startTestServer(options);
    context.token = await context.server.adminToken();
  });
  afterAll(() => context.server?.close());
  return context;
}
