import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../helpers/https-client.js';
import { createChain, type TestChain, leafFingerprint as fp } from '../helpers/pki.js';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

const API_KEY = 'monitoring-key-0123';

describe('metrics and logs', () => {
  let server: TestServer;
  let token: string;
  let first: TestChain;
  let second: TestChain;

  beforeAll(async () => {
    server = await startTestServer({ env: { API_KEY }, start: { processMetrics: true } });
    token = await server.adminToken();
    first = await createChain();
    second = await createChain();
    expect((await server.upload(first.bundle, token)).status).toBe(201);
    expect((await server.upload(second.bundle, token)).status).toBe(201);
    expect((await server.upload(first.leaf.certPem, token)).status).toBe(400);
  });
  afterAll(() => server.close());

  const prometheus = async () => (await server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(token) })).text;

  it('exposes the active certificate; the series of a replaced certificate disappears', async () => {
    const text = await prometheus();
    const notAfter = Math.floor(Date.parse(second.leaf.cert.validTo) / 1000);
    expect(text).toContain(`hotcert_certificate_not_after_seconds{fingerprint_sha256="${fp(second)}"} ${notAfter}`);
    expect(text).toMatch(new RegExp(`hotcert_certificate_version\\{fingerprint_sha256="${fp(second)}"\\} 3`));
    expect(text).not.toContain(fp(first));
  });

  it('counts swaps by source, failures by rule, durations, queue depth, HTTP requests and process metrics', async () => {
    const text = await prometheus();
    expect(text).toMatch(/^hotcert_certificate_swaps_total\{source="upload"\} 2$/m);
    expect(text).toMatch(/^hotcert_validation_failures_total\{rule="[a-z-]+"\} 1$/m);
    expect(text).toMatch(/^hotcert_validation_duration_seconds_count \d+$/m);
    expect(text).toMatch(/^hotcert_upload_to_swap_seconds_count 2$/m);
    expect(text).toMatch(/^hotcert_validation_queue_depth \d+$/m);
    expect(text).toMatch(/^hotcert_http_requests_total\{method="POST",route="\/v1\/certificates\/external",status="201"\} 2$/m);
    expect(text).toMatch(/^hotcert_process_resident_memory_bytes \d+/m);
  });

  it('answers JSON in the WhatsApp shape by default', async () => {
    const res = await server.request('GET', '/v1/metrics', { headers: bearer(token) });
    expect(res.status).toBe(200);
    const metric = res.json.metrics.hotcert_certificate_swaps_total;
    expect(metric).toMatchObject({ type: 'counter', help: expect.any(String) });
    expect(metric.data).toContainEqual({ labels: { source: 'upload' }, value: 2 });
    expect(res.json.meta.api_status).toBe('stable');
  });

  it('accepts the API key on health and metrics only', async () => {
    const key = { Authorization: `Apikey ${API_KEY}` };
    expect((await server.request('GET', '/v1/health', { headers: key })).status).toBe(200);
    expect((await server.request('GET', '/v1/metrics', { headers: key })).status).toBe(200);
    expect((await server.request('GET', '/v1/certificates/external', { headers: key })).status).toBe(401);
    expect((await server.request('GET', '/v1/audit', { headers: key })).status).toBe(401);
    expect((await server.request('GET', '/v1/metrics', { headers: { Authorization: 'Apikey wrong-key-0000' } })).status).toBe(401);
  });

  it('logs one line per request with id, route, status, duration and user, echoing X-Request-Id', async () => {
    const res = await server.request('GET', '/v1/certificates/external', { headers: { ...bearer(token), 'X-Request-Id': 'trace-abc-123' } });
    expect(res.headers['x-request-id']).toBe('trace-abc-123');
    const line = server.logs.map((l) => JSON.parse(l)).find((entry) => entry.request_id === 'trace-abc-123');
    expect(line).toMatchObject({ event: 'http.request', method: 'GET', route: '/v1/certificates/external', status: 200, user: 'admin' });
    expect(typeof line.duration_ms).toBe('number');
  });

  it('logs state changes with rule names, never bodies, headers or tokens', () => {
    const entries = server.logs.map((l) => JSON.parse(l));
    expect(entries.filter((e) => e.event === 'certificate.activated').map((e) => e.fingerprint_sha256)).toEqual(expect.arrayContaining([fp(first), fp(second)]));
    const rejected = entries.find((e) => e.event === 'certificate.rejected');
    expect(rejected.rules.length).toBeGreaterThan(0);
    const all = server.logs.join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toContain(first.leaf.certPem.split('\n')[1]);
    expect(all.toLowerCase()).not.toContain('bearer');
  });

  it('honours LOG_LEVEL', async () => {
    const quiet = await startTestServer({ env: { LOG_LEVEL: 'warn' } });
    try {
      await quiet.request('GET', '/healthz');
      expect(quiet.logs.some((line) => line.includes('"event":"http.request"'))).toBe(false);
    } finally {
      await quiet.close();
    }
  });
});
