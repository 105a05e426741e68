import type { Logger } from 'pino';
import { loadConfig, type Config } from '../config.js';
import { bootHotcert, type Hotcert } from '../instance.js';
import { createLogger } from '../observability/logger.js';
import { isHotcertPath } from '../proxy/own-paths.js';
import type { RunningServer } from '../tls/https-server.js';

/** Anything with a web-standard `fetch`: a Hono app, or a plain handler. */
export interface FetchApplication {
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

export interface HotcertOptions {
  /** Where hotcert keeps its SQLite database and master key; created (mode 0700) if missing. */
  dataDir: string;
  /** 32 bytes, or their base64; without it hotcert creates `master.key` in `dataDir` on first start. */
  masterKey?: Buffer | string;
  /** A pino logger; by default JSON lines on standard output at `logLevel`. */
  logger?: Logger;
  logLevel?: Config['logLevel'];
  /** Largest request body hotcert's own routes accept (default 1 MiB). Your routes are not limited. */
  maxUploadBytes?: number;
  /** Static key accepted by GET /v1/health and /v1/metrics (12 to 128 characters). */
  apiKey?: string;
  /** The admin's password when the admin user is first created (as ADMIN_PASSWORD); otherwise admin/secret, to be changed at first login. */
  adminPassword?: string;
}

export interface HotcertListenOptions {
  /** 0 picks a free port; default 9090. */
  port?: number | undefined;
  /** Default: every interface. */
  host?: string | undefined;
}

export interface HotcertServer {
  port: number;
  /** The one TLS listener (HTTP/2 with HTTP/1.1 fallback); e.g. for an 'upgrade' handler. */
  server: RunningServer['server'];
}

export interface HotcertInstance {
  /**
   * Starts the HTTPS listener: hotcert's own paths (/healthz, /v1/users…, /v1/certificates…, /v1/health,
   * /v1/metrics, /v1/audit, /v1/openapi.json, /v1/docs, /admin) are answered by hotcert, every other
   * request by `app`. Once only.
   */
  listen(app: FetchApplication, options?: HotcertListenOptions): Promise<HotcertServer>;
  /** Stops accepting, lets requests in flight finish (at most `graceMs`, default 10 s), then closes the database and threads. */
  close(graceMs?: number): Promise<void>;
}

/**
 * hotcert inside your Node application: its certificate store, control API and zero-drop swaps, served
 * by the listener `listen` starts. Reads no environment variables and never exits the process.
 * Throws ConfigError for bad options and DataDirError when `dataDir` cannot be used.
 */
export async function createHotcert(options: HotcertOptions): Promise<HotcertInstance> {
  const masterKey = typeof options.masterKey === 'string' ? options.masterKey : options.masterKey?.toString('base64');
  // The same validation and defaults as the environment variables of `hotcert serve`.
  const config = loadConfig({
    DATA_DIR: options.dataDir,
    MASTER_KEY: masterKey,
    LOG_LEVEL: options.logLevel,
    MAX_UPLOAD_BYTES: options.maxUploadBytes === undefined ? undefined : String(options.maxUploadBytes),
    API_KEY: options.apiKey,
    ADMIN_PASSWORD: options.adminPassword,
  });
  const logger = options.logger ?? createLogger(config.logLevel);
  const booted = await bootHotcert(config, { logger });
  let listening: Promise<Hotcert> | undefined;
  let closed = false;

  return {
    async listen(app, at = {}) {
      if (closed) throw new Error('hotcert is closed');
      if (listening) throw new Error('hotcert is already listening');
      const own = booted.app;
      // The same split as reverse proxy mode: your app takes the place of UPSTREAM.
      const fetch = (request: Request, env: unknown) => (isHotcertPath(requestTarget(request.url)) ? own.fetch(request, env) : app.fetch(request, env));
      listening = booted.listen(fetch, { port: at.port ?? config.port, host: at.host });
      try {
        const running = await listening;
        return { port: running.port, server: running.listener.server };
      } catch (error) {
        listening = undefined;
        throw error;
      }
    },
    async close(graceMs) {
      if (closed) return;
      closed = true;
      const running = await listening?.catch(() => undefined);
      if (running) await running.close(graceMs);
      else await booted.services.close();
    },
  };
}

/** `https://host/path?q` → `/path?q`, the request target the proxy's path rules read. */
function requestTarget(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  return start === -1 ? '/' : url.slice(start);
}
