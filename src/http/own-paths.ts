/** The paths hotcert answers itself; everything else belongs to the embedding application. */
const OWN_PATH = /^\/(?:healthz|v1\/(?:users|certificates|health|metrics|audit))(?:[/?]|$)/;

/** `url` is a request URL (absolute, as in a web `Request`) or a request target (`/path?query`). */
export function isHotcertPath(url: string): boolean {
  const start = url.startsWith('/') ? 0 : url.indexOf('/', url.indexOf('//') + 2);
  return start >= 0 && OWN_PATH.test(url.slice(start));
}
