import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Upstream } from '../config.js';
import { requestIdFor } from '../http/request-log.js';
import type { Metrics } from '../observability/metrics.js';
import { sendEnvelope } from './error-envelope.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './forwarded-headers.js';
import { isHotcertPath } from './own-paths.js';
import { recordProxyRequest } from './request-line.js';
import { openTunnel } from './tunnel.js';

export interface ReverseProxyOptions {
  upstream: Upstream;
  /** How long the upstream gets to answer with headers once the request is sent (504 after). */
  timeoutMs: number;
  /** Largest request body forwarded (413 above); undefined for no limit. */
  maxBodyBytes?: number | undefined;
  /**
   * Node's whole-request timeout would cut any upload slower than it, so the server runs without it in proxy
   * mode and this replaces it: hotcert's own routes get their whole body within it, a proxied body may not
   * pause longer than it. 0 turns both off.
   */
  bodyTimeoutMs: number;
  logger: Logger;
  metrics?: Metrics | undefined;
}

export interface ReverseProxy {
  /** Streams a request that is not hotcert's own to the upstream and returns true; false leaves it to hotcert's app. */
  forward(req: IncomingMessage, res: ServerResponse): boolean;
  /** The server's 'upgrade' event: tunnels WebSocket and other Upgrade requests; refuses them on hotcert's paths. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes open Upgrade tunnels (at shutdown: the server cannot wait for them, they are no longer requests). */
  closeTunnels(): void;
  /** Drops pooled upstream connections and open tunnels (after the server stopped accepting). */
  close(): void;
}

export type UpstreamFailure = 'unreachable' | 'timeout' | 'reset';

/** Only these are retried, once, when a pooled connection turns out closed by the upstream (the keep-alive race). */
const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Where the upstream is, as node:http request options. */
export function upstreamTarget(upstream: Upstream): http.RequestOptions {
  return upstream.kind === 'unix' ? { socketPath: upstream.socketPath } : { host: upstream.host, port: upstream.port };
}

/** Reverse proxy mode (issue 11): forwarding at the Node level, streaming both ways, a keep-alive pool. */
export function createReverseProxy(options: ReverseProxyOptions): ReverseProxy {
  const { logger, metrics, timeoutMs, maxBodyBytes, bodyTimeoutMs: bodyIdleMs } = options;
  const target = upstreamTarget(options.upstream);
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const tunnels = new Set<Duplex>();

  const upstreamFailed = (reason: UpstreamFailure, requestId: string, error: NodeJS.ErrnoException | undefined) => {
    metrics?.proxyUpstreamError(reason);
    logger.warn({ event: 'proxy.upstream_error', reason, code: error?.code, request_id: requestId, upstream: options.upstream.label }, 'upstream failed');
  };

  function forward(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '/';
    if (isHotcertPath(url)) {
      if (bodyIdleMs > 0) bodyDeadline(req, bodyIdleMs);
      return false;
    }
    const started = performance.now();
    const requestId = requestIdFor(req.headers['x-request-id'] as string | undefined);
    const method = req.method ?? 'GET';

    // The client left, or the proxy already answered: upstream errors after that are expected, not reported.
    let abandoned = false;
    let current: ClientRequest | undefined;
    // One listener for both jobs (each listener costs on every request): cut the upstream short, then log.
    res.once('close', () => {
      const aborted = !res.writableFinished;
      if (aborted) {
        abandoned = true;
        current?.destroy();
      }
      const status = res.headersSent ? res.statusCode : 499;
      recordProxyRequest(logger, metrics, { requestId, method, status, durationMs: performance.now() - started, extra: aborted ? { client_aborted: true } : undefined });
    });

    const declared = req.headers['content-length'];
    if (maxBodyBytes !== undefined && declared !== undefined && Number(declared) > maxBodyBytes) {
      sendEnvelope(res, 413, 'invalidParameter', `the body is larger than ${maxBodyBytes} bytes (MAX_PROXY_BODY_BYTES)`, requestId, true);
      return true;
    }
    const h2 = req.httpVersionMajor === 2;
    // HTTP/2 has no Transfer-Encoding: a body follows unless the HEADERS frame ended the stream.
    const hasBody = h2
      ? !(req as unknown as Http2ServerRequest).stream.endAfterHeaders
      : req.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0');
    const headers = upstreamRequestHeaders(req, { requestId });
    const path = url.startsWith('/') || url === '*' ? url : absoluteToOrigin(url);

    const send = (retry: boolean) => {
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      let answered = false;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = true;
          upstreamReq.destroy();
        }, timeoutMs);
      };
      const upstreamReq = http.request({ ...target, method, path, headers, agent });
      current = upstreamReq;
      // The clock covers connecting and, once the body is sent, waiting for headers; not a slow client's upload.
      arm();
      // Without a body the one clock runs from here to the answer's headers; no listeners needed for it.
      if (hasBody) {
        upstreamReq.once('socket', (socket) => {
          if (socket.connecting) socket.once('connect', () => clearTimeout(timer));
          else clearTimeout(timer);
        });
        // An upstream may answer before the body is all sent (an early 401, an echo): then there is nothing left to time.
        upstreamReq.once('finish', () => !answered && arm());
      }

      upstreamReq.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (abandoned) return;
        if (res.headersSent) {
          // The answer had begun: the client sees a cut response, never a wrong one.
          upstreamFailed('reset', requestId, error);
          res.destroy();
          return;
        }
        if (retry && upstreamReq.reusedSocket && !timedOut && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
          send(false);
          return;
        }
        req.unpipe(upstreamReq);
        if (timedOut) {
          upstreamFailed('timeout', requestId, error);
          sendEnvelope(res, 504, 'notReady', `the application behind hotcert did not answer within ${timeoutMs} ms (UPSTREAM_TIMEOUT_MS)`, requestId, hasBody && !req.complete);
        } else {
          upstreamFailed('unreachable', requestId, error);
          sendEnvelope(res, 502, 'notReady', 'the application behind hotcert is not reachable', requestId, hasBody && !req.complete);
        }
      });

      upstreamReq.once('response', (upstreamRes) => {
        answered = true;
        clearTimeout(timer);
        const status = upstreamRes.statusCode ?? 502;
        const headers = clientResponseHeaders(upstreamRes.rawHeaders, requestId);
        // HTTP/2 has no reason phrase (Node warns when given one).
        if (h2) res.writeHead(status, headers);
        else res.writeHead(status, upstreamRes.statusMessage, headers);
        // A streamed answer (no length) shows its headers at once, as server-sent events need.
        if (upstreamRes.headers['content-length'] === undefined) res.flushHeaders();
        // pipe, not pipeline: pipeline builds an AbortController and, at the end, an AbortError with a stack for
        // every answer (~70 µs of ~280 µs CPU per proxied 1 KiB request). A client that leaves is handled above.
        upstreamRes.pipe(res);
        upstreamRes.once('error', (error: NodeJS.ErrnoException) => {
          if (abandoned) return;
          upstreamFailed('reset', requestId, error);
          res.destroy();
        });
      });

      if (!hasBody) {
        upstreamReq.end();
        return;
      }
      req.pipe(upstreamReq);
      // A client that vanishes mid-upload: the upstream sees its request aborted, not a short body.
      req.once('error', () => upstreamReq.destroy());
      let received = 0;
      const refuse = (status: number, details: string) => {
        req.off('data', onData);
        clearTimeout(stalled);
        req.unpipe(upstreamReq);
        req.resume();
        abandoned = true;
        upstreamReq.destroy();
        if (res.headersSent) res.destroy();
        else sendEnvelope(res, status, 'invalidParameter', details, requestId, true);
      };
      const onData = (chunk: Buffer) => {
        stalled?.refresh();
        received += chunk.length;
        if (maxBodyBytes !== undefined && received > maxBodyBytes) refuse(413, `the body is larger than ${maxBodyBytes} bytes (MAX_PROXY_BODY_BYTES)`);
      };
      // A body may take as long as it needs while it moves; one that stops arriving is cut (slow-client guard).
      const stalled = bodyIdleMs > 0 ? setTimeout(() => refuse(408, `the request body stopped arriving for ${bodyIdleMs} ms`), bodyIdleMs) : undefined;
      if (stalled) {
        req.once('end', () => clearTimeout(stalled));
        res.once('close', () => clearTimeout(stalled));
      }
      req.on('data', onData);
    };

    send(!hasBody && RETRYABLE_METHODS.has(method));
    return true;
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    openTunnel(req, socket, head, { target, timeoutMs, logger, metrics, tunnels, upstreamFailed });
  }

  return {
    forward,
    upgrade,
    closeTunnels() {
      for (const socket of tunnels) socket.destroy();
      tunnels.clear();
    },
    close() {
      agent.destroy();
      for (const socket of tunnels) socket.destroy();
      tunnels.clear();
    },
  };
}

/** The whole body of a request for hotcert's own routes within `ms`, as Node's requestTimeout would have had it. */
function bodyDeadline(req: IncomingMessage, ms: number): void {
  // HTTP/2: only this request's stream is cancelled, not the connection and its other streams.
  const stream = req.httpVersionMajor === 2 ? (req as unknown as Http2ServerRequest).stream : undefined;
  const declared = req.headers['content-length'];
  if (stream ? stream.endAfterHeaders : req.headers['transfer-encoding'] === undefined && (declared === undefined || declared === '0')) return;
  const timer = setTimeout(() => {
    if (req.complete) return;
    if (stream) stream.close(http2.constants.NGHTTP2_CANCEL);
    else req.socket.destroy();
  }, ms);
  timer.unref();
  req.once('close', () => clearTimeout(timer));
}

function absoluteToOrigin(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return '/';
  }
}
