/**
 * Paths hotcert answers itself; everything else goes to UPSTREAM. A prefix covers itself and what is
 * below it (`/v1/users` covers `/v1/users/login`, not `/v1/usersx`). A page or document hotcert adds
 * later joins this list, so the upstream never sees a path that hotcert might answer.
 */
export const HOTCERT_PATHS: readonly string[] = [
  '/healthz',
  '/v1/users',
  '/v1/certificates',
  '/v1/health',
  '/v1/metrics',
  '/v1/audit',
  '/v1/openapi.json',
  '/v1/docs',
  '/admin',
];

// Same test @hono/node-server uses to decide that a target needs URL normalisation.
const plainTarget = /^\/[!#$&-;=?-[\]_a-z~]*$/;
const dotSegment = /\/\.\.?(?:[/?#]|$)/;

/** The path Hono would route on: dot segments resolved and %-escapes decoded, so both sides agree. */
export function routedPath(target: string): string | undefined {
  let path: string;
  if (plainTarget.test(target) && !dotSegment.test(target)) {
    const query = target.indexOf('?');
    path = query === -1 ? target : target.slice(0, query);
  } else {
    try {
      path = new URL(target, 'http://hotcert.invalid').pathname;
    } catch {
      return undefined;
    }
  }
  if (path.includes('%')) {
    try {
      path = decodeURI(path);
    } catch {
      return undefined;
    }
  }
  return path;
}

/** True when hotcert's own app must answer `target` (a request's URL); an unreadable target stays with hotcert too. */
export function isHotcertPath(target: string): boolean {
  if (target === '*') return false;
  const path = routedPath(target);
  if (path === undefined) return true;
  for (const prefix of HOTCERT_PATHS) {
    if (path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47)) return true;
  }
  return false;
}
