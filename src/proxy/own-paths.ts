import { getPath } from 'hono/utils/url';

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

const BASE = 'http://hotcert.invalid';

/** The path Hono would route on (dot segments resolved, %-escapes decoded its way), so both sides agree. */
export function routedPath(target: string): string | undefined {
  let url: string;
  if (target.charCodeAt(0) !== 47) {
    url = target;
  } else if (target.includes('/.') || target.includes('\\')) {
    // Only targets that URL parsing would change take the slow way, as in @hono/node-server.
    try {
      url = new URL(BASE + target).href;
    } catch {
      return undefined;
    }
  } else if (!target.includes('%')) {
    // The common case: what getPath would return, without building a URL.
    const end = target.search(/[?#]/);
    return end === -1 ? target : target.slice(0, end);
  } else {
    url = BASE + target;
  }
  if (!url.startsWith('http://') && !url.startsWith('https://')) return undefined;
  return getPath({ url } as Request);
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
