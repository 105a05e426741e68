import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerEventLoopDelay } from './event-loop-delay.js';
import { registerProcessMetrics } from './process-metrics.js';

/** One registry per app instance, so tests can run several servers in one process. */
export function createMetrics(options: { processMetrics?: boolean | undefined } = {}) {
  const registry = new Registry();
  if (options.processMetrics ?? true) registerProcessMetrics(registry);

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
  const certificateOutOfSync = new Gauge({
    name: 'hotcert_certificate_out_of_sync',
    help: '1 when this process cannot serve the version the database calls active (it keeps serving the one it has)',
    registers: [registry],
  });
  const storageProblem = new Gauge({
    name: 'hotcert_storage_problem',
    help: '1 for the problem the data directory has now (full, read_only, missing); no series when it is fine',
    labelNames: ['problem'] as const,
    registers: [registry],
  });
  const acmeRenewals = new Counter({
    name: 'hotcert_acme_renewals_total',
    help: 'ACME issuance and renewal attempts made by this process, by outcome (success, failure)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const acmeFailures = new Gauge({
    name: 'hotcert_acme_consecutive_failures',
    help: 'ACME attempts that failed in a row (0 after a success)',
    registers: [registry],
  });
  const activations = new Counter({
    name: 'hotcert_certificate_activations_total',
    help: 'Identities this process started serving, by the way the change came (upload, import, rollback, reset, boot, fallback, sync, acme); all pass through one activation function',
    labelNames: ['way'] as const,
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
  const loopDelay = registerEventLoopDelay(registry);
  const httpRequests = new Counter({
    name: 'hotcert_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'hotcert_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const proxyUpstreamErrors = new Counter({
    name: 'hotcert_proxy_upstream_errors_total',
    help: 'Proxied requests the upstream failed: unreachable (502), timeout (504), reset after the answer began',
    labelNames: ['reason'] as const,
    registers: [registry],
  });

  // Bounded: methods, routes (patterns, not paths) and statuses are few.
  const requestCounters = new Map<string, ReturnType<typeof httpRequests.labels>>();
  const requestDurations = new Map<string, ReturnType<typeof httpDuration.labels>>();

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
    acmeAttempt(outcome: 'success' | 'failure', consecutiveFailures: number): void {
      acmeRenewals.inc({ outcome });
      acmeFailures.set(consecutiveFailures);
    },
    outOfSync: (flag: boolean) => certificateOutOfSync.set(flag ? 1 : 0),
    storage: (state: string) => {
      storageProblem.reset();
      if (state !== 'ok') storageProblem.set({ problem: state }, 1);
    },
    swapped: (source: string) => swaps.inc({ source }),
    activated: (way: string) => activations.inc({ way }),
    rejected: (rules: string[]) => {
      for (const rule of new Set(rules)) validationFailures.inc({ rule });
    },
    validated: (seconds: number) => validationDuration.observe(seconds),
    uploadToSwap: (seconds: number) => uploadToSwap.observe(seconds),
    queueDepth: (depth: number) => poolQueue.set(depth),
    request: (method: string, route: string, status: number, seconds?: number) => {
      // The labelled children are looked up once per label set: prom-client hashes the label object on every call.
      const key = `${method} ${route} ${status}`;
      let counter = requestCounters.get(key);
      if (!counter) requestCounters.set(key, (counter = httpRequests.labels(method, route, String(status))));
      counter.inc();
      if (seconds === undefined) return;
      const durationKey = `${method} ${route}`;
      let histogram = requestDurations.get(durationKey);
      if (!histogram) requestDurations.set(durationKey, (histogram = httpDuration.labels(method, route)));
      histogram.observe(seconds);
    },
    proxyUpstreamError: (reason: 'unreachable' | 'timeout' | 'reset') => proxyUpstreamErrors.inc({ reason }),
    /** Stops the event-loop sampler (a 10 ms unref'd timer); for tests that create many instances. */
    close: () => loopDelay.close(),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
