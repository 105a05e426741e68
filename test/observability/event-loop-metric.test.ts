import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../helpers/https-client.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function gauge(text: string, name: string): number {
  const match = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  if (!match) throw new Error(`${name} is missing from the metrics`);
  return Number(match[1]);
}

describe('event-loop delay metric', () => {
  let server: TestServer;
  let token: string;

  const scrape = async () => {
    const res = await server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(token) });
    expect(res.status).toBe(200);
    return res.text;
  };

  beforeAll(async () => {
    server = await startTestServer();
    token = await server.adminToken();
  });
  afterAll(() => server.close());

  it('exposes p99 and max with the sampling interval subtracted', async () => {
    await scrape();
    await sleep(100);
    const text = await scrape();
    expect(text).toContain('# TYPE hotcert_event_loop_delay_p99_seconds gauge');
    const p99 = gauge(text, 'hotcert_event_loop_delay_p99_seconds');
    expect(p99).toBeGreaterThanOrEqual(0);
    expect(p99).toBeLessThan(gauge(text, 'hotcert_event_loop_delay_max_seconds') + 1e-9);
  });

  it('reports a blocked event loop, then starts a new window at the next read', async () => {
    await scrape();
    await sleep(100);
    const blockedUntil = performance.now() + 80;
    while (performance.now() < blockedUntil) {
      // block the loop the server runs on
    }
    await sleep(30);
    const blocked = await scrape();
    expect(gauge(blocked, 'hotcert_event_loop_delay_max_seconds')).toBeGreaterThanOrEqual(0.06);
    expect(gauge(blocked, 'hotcert_event_loop_delay_p99_seconds')).toBeGreaterThanOrEqual(0.06);

    await sleep(150);
    const after = await scrape();
    expect(gauge(after, 'hotcert_event_loop_delay_max_seconds')).toBeLessThan(0.06);
  });

  it('is in the JSON shape too', async () => {
    const res = await server.request('GET', '/v1/metrics', { headers: bearer(token) });
    expect(res.json.metrics.hotcert_event_loop_delay_p99_seconds.type).toBe('gauge');
    expect(res.json.metrics.hotcert_event_loop_delay_p99_seconds.data[0].value).toBeGreaterThanOrEqual(0);
  });
});
