import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../helpers/https-client.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

type Buckets = Map<string, number>;

/** The cumulative bucket counters of hotcert_event_loop_delay_seconds, by `le`. */
function loopBuckets(text: string): Buckets {
  const buckets: Buckets = new Map();
  for (const match of text.matchAll(/^hotcert_event_loop_delay_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) buckets.set(match[1]!, Number(match[2]));
  if (!buckets.has('+Inf')) throw new Error('hotcert_event_loop_delay_seconds is missing from the metrics');
  return buckets;
}

/** Samples above 50 ms since start. */
const over50ms = (buckets: Buckets) => buckets.get('+Inf')! - buckets.get('0.05')!;

describe('event-loop delay metric', () => {
  let server: TestServer;
  let token: string;

  const scrape = async () => {
    const res = await server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(token) });
    expect(res.status).toBe(200);
    return res.text;
  };

  beforeAll(async () => {
    server = await startTestServer({ start: { processMetrics: true } });
    token = await server.adminToken();
  });
  afterAll(() => server.close());

  it('is exported once, as a cumulative histogram', async () => {
    const text = await scrape();
    expect(text).toContain('# TYPE hotcert_event_loop_delay_seconds histogram');
    const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]!);
    expect(families.filter((name) => /event_?loop/.test(name))).toEqual(['hotcert_event_loop_delay_seconds']);
  });

  it('keeps a blocked event loop visible to every reader: reading does not start a new window', async () => {
    const before = over50ms(loopBuckets(await scrape()));
    const blockedUntil = performance.now() + 80;
    while (performance.now() < blockedUntil) {
      // block the loop the server runs on, once, for 80 ms
    }
    // The sampler records the late tick when it next runs: wait for that count, not for a time.
    let first = loopBuckets(await scrape());
    for (let tries = 0; over50ms(first) === before && tries < 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      first = loopBuckets(await scrape());
    }
    expect(over50ms(first)).toBeGreaterThan(before);

    // A second scraper right after the first sees the same blocked sample, and no counter went down.
    const second = loopBuckets(await scrape());
    expect(over50ms(second)).toBeGreaterThanOrEqual(over50ms(first));
    for (const [le, count] of first) expect(second.get(le), `bucket le=${le}`).toBeGreaterThanOrEqual(count);
    const count = (text: string) => Number(/^hotcert_event_loop_delay_seconds_count (\d+)$/m.exec(text)![1]);
    const [a, b] = [await scrape(), await scrape()];
    expect(count(b)).toBeGreaterThanOrEqual(count(a));
    expect(over50ms(loopBuckets(b))).toBeGreaterThanOrEqual(over50ms(second));
  });

  it('is in the JSON shape too', async () => {
    const res = await server.request('GET', '/v1/metrics', { headers: bearer(token) });
    const metric = res.json.metrics.hotcert_event_loop_delay_seconds;
    expect(metric.type).toBe('histogram');
    expect(metric.data).toContainEqual(expect.objectContaining({ name: 'hotcert_event_loop_delay_seconds_count', value: expect.any(Number) }));
  });
});
