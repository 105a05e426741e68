import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { uniqueSymbol } from 'hono-openapi';
import { errorResponses } from '../openapi/responses.js';
import type { AuthenticatedUser, UserService } from '../users/user-service.js';
import { BASIC_CHALLENGE, BEARER_CHALLENGE, forbidden, unauthorized } from './errors.js';

declare module 'hono' {
  interface ContextVariableMap {
    user: AuthenticatedUser | undefined;
    apiKeyCaller: boolean;
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Constant-time comparison of two secrets of any length. */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export interface AuthOptions {
  users: UserService;
  /** Accept `Authorization: Apikey <key>` (monitoring routes only). */
  apiKey?: string | undefined;
  adminOnly?: boolean;
}

/** Bearer token (or, where allowed, the API key) required; sets `user`. */
export function requireAuth({ users, apiKey, adminOnly = false }: AuthOptions): MiddlewareHandler {
  const middleware: MiddlewareHandler = async function requireAuthMiddleware(c, next) {
    const header = c.req.header('authorization');
    if (!header) throw unauthorized('an Authorization: Bearer <token> header is required; get a token from POST /v1/users/login');
    const match = /^(\S+)\s+(\S+)\s*$/.exec(header);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"');
    const scheme = match[1]!.toLowerCase();
    const credential = match[2]!;
    if (scheme === 'apikey' && apiKey !== undefined) {
      if (!secretsEqual(credential, apiKey)) throw unauthorized('the API key is not valid');
      c.set('apiKeyCaller', true);
      return next();
    }
    if (scheme !== 'bearer') throw unauthorized('the Authorization header must be "Bearer <token>"');
    // A read may ride on a recently verified token while the shared database is unreachable; a write may not.
    const user = await users.authenticate(credential, { readOnly: c.req.method === 'GET' || c.req.method === 'HEAD' });
    if (!user) throw unauthorized('the token is not valid or has expired; log in again', `${BEARER_CHALLENGE}, error="invalid_token"`);
    if (adminOnly && user.role !== 'ROLE_ADMIN') throw forbidden('this operation requires an admin');
    c.set('user', user);
    return next();
  };
  // What this middleware enforces is what /v1/openapi.json says about the route.
  const spec = {
    security: [{ bearerAuth: [] }, ...(apiKey !== undefined ? [{ apiKeyAuth: [] }] : [])],
    responses: errorResponses(adminOnly ? [401, 403] : [401], { 403: 'Authenticated, but not an admin.' }),
  };
  return Object.assign(middleware, { [uniqueSymbol]: { spec } });
}

/** Parses `Authorization: Basic base64(user:pass)`. */
export function parseBasic(header: string | undefined): { username: string; password: string } {
  if (!header) throw unauthorized('an Authorization: Basic header with base64(username:password) is required', BASIC_CHALLENGE);
  const match = /^basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match) throw unauthorized('the Authorization header must be "Basic base64(username:password)"', BASIC_CHALLENGE);
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw unauthorized('the Basic credentials must be base64 of "username:password"', BASIC_CHALLENGE);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
