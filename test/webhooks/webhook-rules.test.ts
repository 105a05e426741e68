import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_DELAYS_MS, retryDelay } from '../../src/webhooks/delivery-loop.js';
import { dedupeKeyOf, toOutboxEvent } from '../../src/webhooks/webhook-event.js';
import { webhookUrlProblem } from '../../src/webhooks/webhook-url.js';

describe('webhook URL rule', () => {
  it('accepts https:// URLs with a host, port, path and query', () => {
    for (const url of ['https://hooks.example.com/hotcert', 'https://127.0.0.1:8443/x?team=ops', 'https://[::1]/hook']) expect(webhookUrlProblem(url), url).toBeNull();
  });

  it('refuses other schemes, relative or malformed URLs, credentials, fragments and very long URLs, saying why', () => {
    expect(webhookUrlProblem('http://hooks.example.com/')).toMatch(/must use https:\/\/ \(got http:\/\/\)/);
    expect(webhookUrlProblem('ftp://hooks.example.com/')).toMatch(/https/);
    expect(webhookUrlProblem('/relative/path')).toMatch(/absolute https:\/\/ URL/);
    expect(webhookUrlProblem('https://')).not.toBeNull();
    expect(webhookUrlProblem('https://u:p@hooks.example.com/')).toMatch(/user name or password/);
    expect(webhookUrlProblem('https://hooks.example.com/#frag')).toMatch(/fragment/);
    expect(webhookUrlProblem(`https://hooks.example.com/${'a'.repeat(2100)}`)).toMatch(/2048/);
  });
});

describe('retry schedule', () => {
  it('follows the delays with ±10% jitter, and repeats the last one as the cap', () => {
    const middle = () => 0.5;
    expect([1, 2, 3].map((n) => retryDelay(DEFAULT_RETRY_DELAYS_MS, n, middle))).toEqual([5_000, 30_000, 120_000]);
    expect(retryDelay(DEFAULT_RETRY_DELAYS_MS, 50, middle)).toBe(DEFAULT_RETRY_DELAYS_MS.at(-1));
    expect(retryDelay([1000], 1, () => 0)).toBe(900);
    expect(retryDelay([1000], 1, () => 0.999_999)).toBeLessThanOrEqual(1100);
  });
});

describe('outbox event', () => {
  it('is {id, type, created_at, data} and keys only the events every process emits', () => {
    const activated = toOutboxEvent({ type: 'certificate.activated', version: 3, fingerprint_sha256: 'ab', source: 'upload', actor: 'admin', not_after: '2030-01-01T00:00:00.000Z' }, Date.parse('2026-12-02T10:00:00Z'));
    expect(JSON.parse(activated.payload)).toEqual({
      id: activated.eventId,
      type: 'certificate.activated',
      created_at: '2026-12-02T10:00:00.000Z',
      data: { version: 3, fingerprint_sha256: 'ab', source: 'upload', actor: 'admin', not_after: '2030-01-01T00:00:00.000Z' },
    });
    expect(activated.dedupeKey).toBeNull();
    const expiring = { type: 'certificate.expiring', version: 3, fingerprint_sha256: 'ab', days_left: 6, threshold_days: 7, not_after: 'x' } as const;
    expect(dedupeKeyOf(expiring)).toBe('certificate.expiring:ab:7');
    expect(dedupeKeyOf({ ...expiring, days_left: 5 })).toBe(dedupeKeyOf(expiring));
    expect(dedupeKeyOf({ ...expiring, threshold_days: 1 })).not.toBe(dedupeKeyOf(expiring));
    expect(dedupeKeyOf({ type: 'certificate.expired', version: 3, fingerprint_sha256: 'ab', not_after: 'x' })).toBe('certificate.expired:ab');
  });
});
