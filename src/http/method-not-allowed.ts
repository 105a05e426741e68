import type { Context, Hono, MiddlewareHandler } from 'hono';
import { errorCodes } from './errors.js';
import { meta } from './meta.js';
import { json } from './respond.js';

interface Pattern {
  method: string;
  regex: RegExp;
}

/** `/v1/users/:name` → a RegExp for request paths; a trailing slash is optional, as Hono treats it. */
function compile(path: string): RegExp {
  const body = path
    .replace(/\/+$/, '')
    .split('/')
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`);
}

/**
 * A known path asked with a method it does not have answers 405 with an `Allow` header (RFC 9110
 * §15.5.6), in the error envelope; unknown paths stay 404. The route table is read from the app
 * once, at the first request, so every route registered by then counts.
 */
export function methodNotAllowed(app: Hono) {
  let patterns: Pattern[] | undefined;
  const table = () =>
    (patterns ??= app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => ({ method: route.method, regex: compile(route.path) })));

  // The middleware runs on every request: literal paths are looked up by key, not matched one by one.
  let literals: Map<string, string[]> | undefined;
  const literalTable = () => {
    if (literals) return literals;
    const methods = new Map<string, Set<string>>();
    for (const route of app.routes) {
      // No parameters or wildcards: a path named by itself (e.g. /v1/users/login, not /v1/users/:name).
      if (route.method === 'ALL' || /[:*]/.test(route.path)) continue;
      const key = route.path.replace(/\/+$/, '');
      methods.set(key, (methods.get(key) ?? new Set()).add(route.method));
    }
    return (literals = new Map([...methods].map(([key, set]) => [key, withHead(set)])));
  };

  function withHead(methods: Set<string>): string[] {
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  }

  function allowed(path: string, literalOnly: boolean): string[] {
    if (literalOnly) return literalTable().get(path.endsWith('/') ? path.slice(0, -1) : path) ?? [];
    return withHead(new Set(table().filter((p) => p.regex.test(path)).map((p) => p.method)));
  }

  function answer(c: Context, allow: string[]): Response {
    c.header('Allow', allow.join(', '));
    const details = `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allow.join(', ')}`;
    return json(c, { errors: [{ ...errorCodes.invalidParameter, details }], meta }, 405);
  }

  return {
    /**
     * Before the routes: a path that exists by itself (`/v1/users/login`, `/v1/health`) is not handed
     * to a parameter route of another method (`GET /v1/users/:name`) nor to its authentication.
     */
    middleware: (async (c, next) => {
      const allow = allowed(c.req.path, true);
      if (allow.length > 0 && !allow.includes(c.req.method)) return answer(c, allow);
      return next();
    }) as MiddlewareHandler,
    /** From notFound: 405 when any route has this path, else undefined (404). */
    answer(c: Context): Response | undefined {
      const allow = allowed(c.req.path, false);
      return allow.length > 0 ? answer(c, allow) : undefined;
    },
  };
}
