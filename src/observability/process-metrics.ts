import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's process and Node.js metrics, minus what would be wrong or doubled: three gauges it names
 * `…_total` (Prometheus reserves the suffix for counters; sum the per-type gauge instead), and its event-loop
 * lag gauges, which reset on every read and duplicate hotcert_event_loop_delay_seconds.
 */
const dropped = [
  'hotcert_nodejs_active_handles_total',
  'hotcert_nodejs_active_requests_total',
  'hotcert_nodejs_active_resources_total',
  'hotcert_nodejs_eventloop_lag_seconds',
  'hotcert_nodejs_eventloop_lag_min_seconds',
  'hotcert_nodejs_eventloop_lag_max_seconds',
  'hotcert_nodejs_eventloop_lag_mean_seconds',
  'hotcert_nodejs_eventloop_lag_stddev_seconds',
  'hotcert_nodejs_eventloop_lag_p50_seconds',
  'hotcert_nodejs_eventloop_lag_p90_seconds',
  'hotcert_nodejs_eventloop_lag_p99_seconds',
];

export function registerProcessMetrics(registry: Registry): void {
  // The lag sampler prom-client starts cannot be switched off; its figures are dropped, so let it tick rarely.
  collectDefaultMetrics({ register: registry, prefix: 'hotcert_', eventLoopMonitoringPrecision: 1000 });
  for (const name of dropped) registry.removeSingleMetric(name);
}
