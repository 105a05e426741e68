/** Why a webhook URL is refused, or null when it is an acceptable https:// URL. */
export function webhookUrlProblem(value: string): string | null {
  if (value.length > 2048) return 'url must be at most 2048 characters';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `url must be an absolute https:// URL, got "${value.slice(0, 100)}"`;
  }
  // Events tell about the server's identity: they never travel in clear text.
  if (url.protocol !== 'https:') return `url must use https:// (got ${url.protocol}//); events are only sent over TLS`;
  if (url.hostname === '') return 'url must name a host';
  // Credentials in a URL would be shown by every GET; the HMAC signature is how a receiver authenticates hotcert.
  if (url.username || url.password) return 'url must not carry a user name or password; verify the X-Hotcert-Signature header instead';
  if (url.hash) return 'url must not have a #fragment';
  return null;
}
