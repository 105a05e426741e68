import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { requestIdFor } from '../http/request-log.js';
import type { Metrics } from '../observability/metrics.js';
import { writeEnvelope } from './error-envelope.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './forwarded-headers.js';
import { isHotcertPath } from './own-paths.js';
import { recordProxyRequest } from './request-line.js';
import type { UpstreamFailure } from './reverse-proxy.js';

export interface TunnelOptions {
  target: http.RequestOptions;
  timeoutMs: number;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** Open tunnels, so close() can drop them (the server no longer tracks an upgraded socket). */
  tunnels: Set<Duplex>;
  upstreamFailed(reason: UpstreamFailure, requestId: string, error: NodeJS.ErrnoException | undefined): void;
}

function head(status: number, message: string, raw: readonly string[]): string {
  let text = `HTTP/1.1 ${status} ${message}\r\n`;
  for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${text}\r\n`;
}

/**
 * An Upgrade request (WebSocket…) on a path that is not hotcert's: sent to the upstream on its own
 * connection; a 101 answer is relayed and the two sockets are piped both ways until either side closes.
 * Any other answer is relayed as a plain response and the connection closed.
 */
export function openTunnel(req: IncomingMessage, socket: Duplex, clientHead: Buffer, options: TunnelOptions): void {
  const started = performance.now();
  const requestId = requestIdFor(req.headers['x-request-id'] as string | undefined);
  const method = req.method ?? 'GET';
  const log = (status: number) =>
    recordProxyRequest(options.logger, options.metrics, { requestId, method, status, durationMs: performance.now() - started, extra: { upgrade: true } });
  socket.on('error', () => socket.destroy());
  if (isHotcertPath(req.url ?? '/')) {
    writeEnvelope(socket, 404, 'notFound', `no upgrade to ${req.headers.upgrade ?? 'another protocol'} on hotcert's own paths`, requestId);
    log(404);
    return;
  }
  const upgrade = req.headers.upgrade ?? '';
  let timedOut = false;
  const upstreamReq = http.request({
    ...options.target,
    method,
    path: req.url,
    headers: upstreamRequestHeaders(req, { requestId, upgrade }),
    // Its own connection: an upgraded socket never goes back to a pool.
    agent: false,
  });
  const timer = setTimeout(() => {
    timedOut = true;
    upstreamReq.destroy();
  }, options.timeoutMs);
  socket.once('close', () => {
    clearTimeout(timer);
    upstreamReq.destroy();
  });

  upstreamReq.on('error', (error: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    if (socket.destroyed) return;
    if (timedOut) {
      options.upstreamFailed('timeout', requestId, error);
      writeEnvelope(socket, 504, 'notReady', `the application behind hotcert did not answer within ${options.timeoutMs} ms (UPSTREAM_TIMEOUT_MS)`, requestId);
      log(504);
    } else {
      options.upstreamFailed('unreachable', requestId, error);
      writeEnvelope(socket, 502, 'notReady', 'the application behind hotcert is not reachable', requestId);
      log(502);
    }
  });

  upstreamReq.once('upgrade', (upstreamRes, upstreamSocket, upstreamHead) => {
    clearTimeout(timer);
    const headers = clientResponseHeaders(upstreamRes.rawHeaders, requestId, upstreamRes.headers.upgrade ?? upgrade);
    socket.write(head(101, upstreamRes.statusMessage || 'Switching Protocols', headers));
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    if (clientHead.length > 0) upstreamSocket.write(clientHead);
    options.tunnels.add(socket);
    const closeBoth = () => {
      options.tunnels.delete(socket);
      socket.destroy();
      upstreamSocket.destroy();
    };
    upstreamSocket.on('error', closeBoth);
    upstreamSocket.on('close', closeBoth);
    socket.on('close', closeBoth);
    socket.pipe(upstreamSocket);
    upstreamSocket.pipe(socket);
    log(101);
  });

  upstreamReq.once('response', (upstreamRes) => {
    clearTimeout(timer);
    // No upgrade after all: relay the answer with a close-delimited body and end the connection.
    const headers = clientResponseHeaders(upstreamRes.rawHeaders, requestId);
    headers.push('Connection', 'close');
    socket.write(head(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage ?? '', headers));
    upstreamRes.pipe(socket);
    log(upstreamRes.statusCode ?? 502);
  });

  upstreamReq.end();
}
