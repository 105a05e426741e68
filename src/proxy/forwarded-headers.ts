import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus httpoxy's `Proxy`. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Headers the proxy sets itself on the way to the upstream. */
const REPLACED_UPSTREAM = new Set(['x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'expect']);

const isHopByHop = (lower: string) => HOP_BY_HOP.has(lower) || lower === 'proxy' || lower.startsWith('proxy-');

/** Names listed in the Connection header(s), lower-cased: they are hop-by-hop too. */
function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) (tokens ??= new Set()).add(name);
    }
  }
  return tokens;
}

/** RFC 7239 node: IPv6 in brackets and quotes, IPv4 bare. */
function forwardedNode(address: string | undefined): string {
  if (!address) return 'unknown';
  return isIPv6(address) ? `"[${address}]"` : address;
}

const quoted = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;

export interface ForwardedContext {
  requestId: string;
  /** Keep `Upgrade` and send `Connection: Upgrade` (a tunnelled request). */
  upgrade?: string | undefined;
}

/**
 * The client's headers, as raw name/value pairs in their order, minus hop-by-hop ones, with
 * X-Forwarded-For and Forwarded appended to, X-Forwarded-Proto/-Host and X-Request-Id set. Host is kept.
 */
export function upstreamRequestHeaders(req: IncomingMessage, context: ForwardedContext): string[] {
  const raw = req.rawHeaders;
  const h2 = req.httpVersionMajor === 2;
  const listed = connectionTokens(raw);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let forwarded: string | undefined;
  let cookies: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // HTTP/2 pseudo-headers (:method, :path, :scheme, :authority) are no HTTP/1.1 fields; :authority becomes Host below.
    if (name.charCodeAt(0) === 58) continue;
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || REPLACED_UPSTREAM.has(lower) || listed?.has(lower)) continue;
    if (lower === 'x-forwarded-for') {
      forwardedFor = forwardedFor === undefined ? raw[i + 1]! : `${forwardedFor}, ${raw[i + 1]!}`;
      continue;
    }
    if (lower === 'forwarded') {
      forwarded = forwarded === undefined ? raw[i + 1]! : `${forwarded}, ${raw[i + 1]!}`;
      continue;
    }
    // HTTP/2 may split Cookie into several fields; HTTP/1.1 allows one (RFC 9113 §8.2.3).
    if (h2 && lower === 'cookie') {
      cookies = cookies === undefined ? raw[i + 1]! : `${cookies}; ${raw[i + 1]!}`;
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  if (cookies !== undefined) out.push('Cookie', cookies);
  const client = req.socket.remoteAddress;
  const authority = req.headers[':authority'];
  const host = req.headers.host ?? (typeof authority === 'string' ? authority : undefined);
  if (req.headers.host === undefined && host !== undefined) out.unshift('Host', host);
  const element = `for=${forwardedNode(client)}${host ? `;host=${quoted(host)}` : ''};proto=https`;
  out.push('X-Forwarded-For', forwardedFor === undefined ? (client ?? 'unknown') : `${forwardedFor}, ${client ?? 'unknown'}`);
  out.push('X-Forwarded-Proto', 'https');
  if (host) out.push('X-Forwarded-Host', host);
  out.push('Forwarded', forwarded === undefined ? element : `${forwarded}, ${element}`);
  out.push('X-Request-Id', context.requestId);
  if (context.upgrade !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', context.upgrade);
  return out;
}

/** The upstream's response headers minus hop-by-hop ones, with hotcert's X-Request-Id. */
export function clientResponseHeaders(raw: readonly string[], requestId: string, upgrade?: string): string[] {
  const listed = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || lower === 'x-request-id' || listed?.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  out.push('X-Request-Id', requestId);
  if (upgrade !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', upgrade);
  return out;
}
