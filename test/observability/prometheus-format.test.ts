import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../helpers/https-client.js';
import { createChain } from '../helpers/pki.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

function promtool(input: string) {
  const run = spawnSync('promtool', ['check', 'metrics'], { input, encoding: 'utf8', timeout: 30_000 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('promtool is missing: install the Debian package `prometheus` (apt-get install prometheus)');
  }
  return run;
}

describe('Prometheus exposition', () => {
  let server: TestServer;
  let token: string;
  let text: string;

  beforeAll(async () => {
    server = await startTestServer({ start: { processMetrics: true } });
    token = await server.adminToken();
    const chain = await createChain();
    expect((await server.upload(chain.bundle, token)).status).toBe(201);
    expect((await server.upload(chain.leaf.certPem, token)).status).toBe(400);
    for (let i = 0; i < 3; i++) expect((await server.request('GET', '/v1/health', { headers: bearer(token) })).status).toBe(200);
    expect((await server.request('GET', '/v1/users/admin', { headers: bearer(token) })).status).toBe(200);
    const res = await server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(token) });
    expect(res.status).toBe(200);
    text = res.text;
  });
  afterAll(() => server.close());

  it('passes `promtool check metrics` on a real scrape, process metrics included', () => {
    expect(text).toMatch(/^hotcert_process_cpu_seconds_total /m);
    const run = promtool(text);
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('names no gauge `…_total`', () => {
    const gauges = [...text.matchAll(/^# TYPE (\S+) gauge$/gm)].map((match) => match[1]!);
    expect(gauges.length).toBeGreaterThan(5);
    expect(gauges.filter((name) => name.endsWith('_total'))).toEqual([]);
  });

  it('has a request-duration histogram by route, with templated routes', () => {
    expect(text).toContain('# TYPE hotcert_http_request_duration_seconds histogram');
    const count = (method: string, route: string) =>
      Number(new RegExp(`^hotcert_http_request_duration_seconds_count\\{method="${method}",route="${route.replaceAll('/', '\\/')}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    expect(count('GET', '/v1/health')).toBe(3);
    expect(count('POST', '/v1/certificates/external')).toBe(2);
    expect(count('GET', '/v1/users/:name')).toBe(1);
    expect(text).not.toMatch(/route="\/v1\/users\/admin"/);
    expect(text).toMatch(/^hotcert_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/v1\/health"\} \d+$/m);
  });

  it('fails clearly naming the Debian package when promtool is absent', () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(() => promtool('')).toThrow(/Debian package `prometheus`/);
    } finally {
      process.env.PATH = path;
    }
  });
});
