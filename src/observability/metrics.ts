import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The event-loop delay sampler ticks this often; Node's histogram records whole intervals, so this is subtracted. */
const LOOP_DELAY_RESOLUTION_MS = 10;

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
  // A window that starts at the previous read: the gauges answer "how blocked was the loop lately", not since boot.
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
  const beyondInterval = (ns: number) => Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS) / 1000;
  const loopDelayMax = new Gauge({
    name: 'hotcert_event_loop_delay_max_seconds',
    help: 'Longest event-loop delay since the previous read of these metrics (beyond the 10 ms sampling interval)',
    registers: [],
  });
  const loopDelayP99 = new Gauge({
    name: 'hotcert_event_loop_delay_p99_seconds',
    help: 'p99 event-loop delay since the previous read of these metrics (beyond the 10 ms sampling interval); each read starts a new window',
    registers: [],
    collect() {
      // Fewer than one sample (two reads within 10 ms): keep the last window's values.
      if (loopDelay.count === 0) return;
      this.set(beyondInterval(loopDelay.percentile(99)));
      loopDelayMax.set(beyondInterval(loopDelay.max));
      loopDelay.reset();
    },
  });
  // p99 first: its collect() fills the max gauge before the registry reads it.
  registry.registerMetric(loopDelayP99);
  registry.registerMetric(loopDelayMax);
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
    outOfSync: (flag: boolean) => certificateOutOfSync.set(flag ? 1 : 0),
    storage: (state: string) => {
      storageProblem.reset();
      if (state !== 'ok') storageProblem.set({ problem: state }, 1);
    },
    swapped: (source: string) => swaps.inc({ source }),
    rejected: (rules: string[]) => {
      for (const rule of new Set(rules)) validationFailures.inc({ rule });
    },
    validated: (seconds: number) => validationDuration.observe(seconds),
    uploadToSwap: (seconds: number) => uploadToSwap.observe(seconds),
    queueDepth: (depth: number) => poolQueue.set(depth),
    request: (method: string, route: string, status: number) => httpRequests.inc({ method, route, status: String(status) }),
    /** Stops the event-loop sampler (a 10 ms unref'd timer); for tests that create many instances. */
    close: () => loopDelay.disable(),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
