import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per app instance, so tests can run several servers in one process. */
export function createMetrics(options: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'hotcert_' });

  const certificateNotAfter = new Gauge({
    name: 'hotcert_certificate_not_after_seconds',
    help: 'notAfter of the served certificate, Unix seconds',
    labelNames: ['fingerprint_sha256'] as const,
    registers: [registry],
  });
  const certificateVersion = new Gauge({
    name: 'hotcert_certificate_version',
    help: 'Version number of the served certificate',
    labelNames: ['fingerprint_sha256'] as const,
    registers: [registry],
  });
  const certificateExpired = new Gauge({
    name: 'hotcert_certificate_expired',
    help: '1 when the served certificate has expired',
    registers: [registry],
  });
  const certificateFallback = new Gauge({
    name: 'hotcert_certificate_fallback',
    help: '1 when boot fell back from an unusable active certificate',
    registers: [registry],
  });
  const swaps = new Counter({
    name: 'hotcert_certificate_swaps_total',
    help: 'Certificate swaps applied by this process, by source',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const validationFailures = new Counter({
    name: 'hotcert_validation_failures_total',
    help: 'Rejected bundles, by failed rule',
    labelNames: ['rule'] as const,
    registers: [registry],
  });
  const validationDuration = new Histogram({
    name: 'hotcert_validation_duration_seconds',
    help: 'Time to validate a bundle in the pool, canary included',
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const uploadToSwap = new Histogram({
    name: 'hotcert_upload_to_swap_seconds',
    help: 'Time from receiving an upload to serving it',
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const poolQueue = new Gauge({
    name: 'hotcert_validation_queue_depth',
    help: 'Validation tasks waiting for a worker',
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'hotcert_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });

  return {
    registry,
    setActiveCertificate(info: { fingerprint: string; version: number; notAfter: number; expired: boolean; fallback: boolean }): void {
      // Reset first, so the series of a replaced certificate disappears.
      certificateNotAfter.reset();
      certificateVersion.reset();
      certificateNotAfter.set({ fingerprint_sha256: info.fingerprint }, Math.floor(info.notAfter / 1000));
      certificateVersion.set({ fingerprint_sha256: info.fingerprint }, info.version);
      certificateExpired.set(info.expired ? 1 : 0);
      certificateFallback.set(info.fallback ? 1 : 0);
    },
    swapped: (source: string) => swaps.inc({ source }),
    rejected: (rules: string[]) => {
      for (const rule of new Set(rules)) validationFailures.inc({ rule });
    },
    validated: (seconds: number) => validationDuration.observe(seconds),
    uploadToSwap: (seconds: number) => uploadToSwap.observe(seconds),
    queueDepth: (depth: number) => poolQueue.set(depth),
    request: (method: string, route: string, status: number) => httpRequests.inc({ method, route, status: String(status) }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
