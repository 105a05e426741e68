import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';

declare module 'hono' {
  interface ContextVariableMap {
    requestId: string;
  }
}

/** The client's X-Request-Id when it is a sane token, else a fresh one; shared by hotcert's routes and the proxy. */
export function requestIdFor(incoming: string | undefined): string {
  return incoming && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
}

/** One log line per request: id, route, status, duration, user. Never a body or an Authorization header. */
export function requestLog({ logger, metrics }: { logger: Logger; metrics?: Metrics | undefined }): MiddlewareHandler {
  return async function requestLogMiddleware(c, next) {
    const started = performance.now();
    const requestId = requestIdFor(c.req.header('x-request-id'));
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    await next();
    const route = routePath(c, -1);
    const durationMs = performance.now() - started;
    metrics?.request(c.req.method, route, c.res.status, durationMs / 1000);
    logger.info(
      {
        event: 'http.request',
        request_id: requestId,
        method: c.req.method,
        route,
        status: c.res.status,
        duration_ms: Math.round(durationMs * 100) / 100,
        user: c.get('user')?.username,
      },
      'request',
    );
  };
}
