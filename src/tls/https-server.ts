import type { IncomingMessage, ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import { routeTlsAlpnChallenges } from '../acme/tls-alpn-router.js';
import { guardConnections } from './connection-lifecycle.js';
import { limitConnectionsPerClient } from './connection-guard.js';
import type { IdentitySwitch } from './identity-switch.js';

export interface ListenOptions {
  fetch: (request: Request, env: unknown) => Response | Promise<Response>;
  identities: IdentitySwitch;
  host?: string | undefined;
  port: number;
  logger: Logger;
  /** A client gets this long to send its headers, and the whole request (slow-loris guard). */
  headersTimeoutMs?: number | undefined;
  requestTimeoutMs?: number | undefined;
  /** A connection that has not finished its TLS handshake by then is closed (idle ones too). */
  handshakeTimeoutMs?: number | undefined;
  maxConnectionsPerClient?: number | undefined;
  /** Reverse proxy mode: takes a request before hotcert's app (true) or leaves it (false). */
  forward?: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  /** Reverse proxy mode: the server's 'upgrade' event (without it, Upgrade requests reach the app as plain ones). */
  upgrade?: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;
  /** ACME TLS-ALPN-01 (src/acme/tls-alpn-router.ts): `acme-tls/1` connections go to this server while `enabled`. */
  challenges?: { enabled: () => boolean; server: tls.Server } | undefined;
}

export interface RunningServer {
  /** HTTP/2 via ALPN `h2`, HTTP/1.1 for clients that do not offer it (`allowHTTP1`). */
  server: http2.Http2SecureServer;
  port: number;
  /** Stops accepting, lets in-flight requests finish (bounded), then drops what is left. */
  close(graceMs?: number): Promise<void>;
}

/** Listening only; what to answer is createApp's job. */
export function startServer(options: ListenOptions): Promise<RunningServer> {
  const app = getRequestListener(options.fetch as Parameters<typeof getRequestListener>[0]);
  const { forward } = options;
  // HTTP/2 requests arrive as Http2ServerRequest/Response (Node's compat API); the proxy handles both kinds.
  const listener = forward ? (req: IncomingMessage, res: ServerResponse) => forward(req, res) || void app(req, res) : app;
  // noDelay: http.Server turns Nagle off by default, tls.Server does not; with it on, a keep-alive answer
  // written in two pieces waits for the client's delayed ACK (measured: proxied req/s cut to a fifth).
  const server = http2.createSecureServer({ ...options.identities.serverOptions(), allowHTTP1: true, noDelay: true, handshakeTimeout: options.handshakeTimeoutMs ?? 10_000 });
  // Before any other connection listener: it decides which TLS stack gets the connection.
  if (options.challenges) routeTlsAlpnChallenges(server, { enabled: options.challenges.enabled, challengeServer: options.challenges.server, timeoutMs: options.handshakeTimeoutMs ?? 10_000 });
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  // With allowHTTP1, Node runs its http.Server slow-loris checks for HTTP/1.1 connections on these fields.
  Object.assign(server, {
    headersTimeout: options.headersTimeoutMs ?? 10_000,
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: 5_000,
    // How often Node looks for connections past those limits (default 30 s would let a slow client linger).
    connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs ?? 1_000),
  });
  const connections = guardConnections(server, { idleMs: 5_000, requestTimeoutMs });
  server.on('request', listener);
  options.identities.attach(server);
  limitConnectionsPerClient(server, options.maxConnectionsPerClient ?? 256, options.logger);
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
            const timer = setTimeout(() => connections.destroyAll(), graceMs);
            timer.unref();
            // Also closes idle HTTP/1.1 connections (allowHTTP1).
            server.close(() => {
              clearTimeout(timer);
              done();
            });
            connections.drain();
          }),
      });
    });
  });
}
