import type { MiddlewareHandler } from 'hono';

/** Response hygiene on every answer; set before the handler runs, so the response is built with them. */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    c.header('Strict-Transport-Security', 'max-age=31536000');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', 'no-store');
    return next();
  };
}
