import { Histogram, type Registry } from 'prom-client';

/** How often the loop is sampled; a sample is how much later than this the timer fired. */
const SAMPLE_INTERVAL_MS = 10;

/**
 * Event-loop delay as a cumulative Prometheus histogram. Nothing is reset when it is read, so any number of
 * scrapers (and the bench) each take their own window with rate()/increase() over the bucket counters.
 */
export function registerEventLoopDelay(registry: Registry): { close(): void } {
  const histogram = new Histogram({
    name: 'hotcert_event_loop_delay_seconds',
    help: `Event-loop delay: how late a ${SAMPLE_INTERVAL_MS} ms timer fired, sampled continuously since start`,
    buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    histogram.observe(Math.max(0, now - last - SAMPLE_INTERVAL_MS) / 1000);
    last = now;
  }, SAMPLE_INTERVAL_MS);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
