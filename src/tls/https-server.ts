import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import type { IdentitySwitch } from './identity-switch.js';

export interface ListenOptions {
  fetch: (request: Request, env: unknown) => Response | Promise<Response>;
  identities: IdentitySwitch;
  host?: string | undefined;
  port: number;
  logger: Logger;
  /** A client gets this long to send its headers, and the whole request (slow-loris guard). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Reverse proxy mode: takes a request before hotcert's app (true) or leaves it (false). */
  forward?: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  /** Reverse proxy mode: the server's 'upgrade' event (without it, Upgrade requests reach the app as plain ones). */
  upgrade?: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;
}

export interface RunningServer {
  server: https.Server;
  port: number;
  /** Stops accepting, lets in-flight requests finish (bounded), then drops what is left. */
  close(graceMs?: number): Promise<void>;
}

/** Listening only; what to answer is createApp's job. */
export function startServer(options: ListenOptions): Promise<RunningServer> {
  const app = getRequestListener(options.fetch as Parameters<typeof getRequestListener>[0]);
  const { forward } = options;
  const listener = forward ? (req: IncomingMessage, res: ServerResponse) => forward(req, res) || void app(req, res) : app;
  const server = https.createServer(
    {
      ...options.identities.serverOptions(),
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      keepAliveTimeout: 5_000,
      // How often Node looks for connections past those limits (default 30 s would let a slow client linger).
      connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs ?? 1_000),
    },
    listener,
  );
  options.identities.attach(server);
  if (options.upgrade) server.on('upgrade', options.upgrade);
  server.on('tlsClientError', (error) => {
    options.logger.debug({ event: 'tls.client_error', code: (error as NodeJS.ErrnoException).code }, 'TLS handshake failed');
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        server,
        port,
        close: (graceMs = 10_000) =>
          new Promise<void>((done) => {
            const timer = setTimeout(() => server.closeAllConnections(), graceMs);
            timer.unref();
            server.close(() => {
              clearTimeout(timer);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
