import type { IncomingMessage, ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type tls from 'node:tls';

export interface ConnectionLimits {
  /** An HTTP/2 connection with no open stream is closed (GOAWAY) after this long without a frame, like HTTP/1.1 keep-alive. */
  idleMs: number;
  /** An HTTP/2 client gets this long to send a whole request, as HTTP/1.1's requestTimeout (0: no limit). */
  requestTimeoutMs: number;
}

const { NGHTTP2_CANCEL, NGHTTP2_STREAM_STATE_OPEN, NGHTTP2_STREAM_STATE_HALF_CLOSED_LOCAL } = http2.constants;

/** The client has not yet ended its side of the stream (the request is still arriving). */
function stillReceiving(stream: http2.ServerHttp2Stream): boolean {
  const state = stream.state.state;
  return state === NGHTTP2_STREAM_STATE_OPEN || state === NGHTTP2_STREAM_STATE_HALF_CLOSED_LOCAL;
}

/**
 * Node's HTTP/1.1 slow-client checks (headersTimeout, requestTimeout, keepAliveTimeout) do not exist for
 * HTTP/2 sessions: this adds their equivalents, and tracks connections of both kinds for a graceful close
 * (GOAWAY to HTTP/2 sessions, `Connection: close` after the response in flight on HTTP/1.1).
 */
export function guardConnections(server: http2.Http2SecureServer, limits: ConnectionLimits) {
  const sockets = new Set<tls.TLSSocket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const http1InFlight = new Set<ServerResponse>();
  let draining = false;
  // Present on Http2SecureServer when allowHTTP1 is set (missing from @types/node).
  const closeIdleHttp1 = () => (server as unknown as { closeIdleConnections(): void }).closeIdleConnections();

  server.on('secureConnection', (socket: tls.TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    let open = 0;
    // Inactivity only counts when nothing is in flight: a stream waiting for a slow answer keeps its session.
    session.setTimeout(limits.idleMs, () => open === 0 && session.close());
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      open++;
      const timer =
        limits.requestTimeoutMs > 0 && !stream.endAfterHeaders
          ? setTimeout(() => stillReceiving(stream) && stream.close(NGHTTP2_CANCEL), limits.requestTimeoutMs).unref()
          : undefined;
      stream.once('close', () => {
        open--;
        clearTimeout(timer);
      });
    });
    if (draining) session.close();
  });

  // Registered before the application's listener, so the header can still be set.
  server.prependListener('request', (req: IncomingMessage | http2.Http2ServerRequest, res: ServerResponse | http2.Http2ServerResponse) => {
    if (req.httpVersionMajor >= 2) return;
    const response = res as ServerResponse;
    if (draining) {
      response.setHeader('connection', 'close');
      return;
    }
    http1InFlight.add(response);
    response.once('close', () => http1InFlight.delete(response));
  });

  return {
    /** No new streams or keep-alive requests; what is in flight finishes, then each connection closes. */
    drain(): void {
      draining = true;
      for (const session of sessions) session.close();
      for (const response of http1InFlight) {
        if (!response.headersSent) response.setHeader('connection', 'close');
        // Node keeps an answered keep-alive connection open; close it once it is idle.
        else response.once('finish', () => setImmediate(closeIdleHttp1));
      }
    },
    destroyAll(): void {
      for (const socket of sockets) socket.destroy();
    },
  };
}
