import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';

/** The proxy's per-request metric and `http.request` log line, as src/http/request-log.ts writes for hotcert's own routes. */
export function recordProxyRequest(
  logger: Logger,
  metrics: Metrics | undefined,
  entry: { requestId: string; method: string; status: number; durationMs: number; extra?: Record<string, unknown> | undefined },
): void {
  metrics?.request(entry.method, 'proxy', entry.status, entry.durationMs / 1000);
  logger.info(
    { event: 'http.request', request_id: entry.requestId, method: entry.method, route: 'proxy', status: entry.status, duration_ms: Math.round(entry.durationMs * 100) / 100, ...entry.extra },
    'request',
  );
}
