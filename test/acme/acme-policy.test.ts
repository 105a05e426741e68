import { describe, expect, it } from 'vitest';
import { readClientHello } from '../../src/acme/client-hello.js';
import { renewalTime, renewalTimeWithWindow, retryDelay } from '../../src/acme/renewal-policy.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import tls from 'node:tls';
import net from 'node:net';

const DAY = 24 * 60 * 60 * 1000;

describe('renewal policy', () => {
  it('renews at two thirds of the lifetime, jittered earlier by at most 1/30 of it', () => {
    expect(renewalTime(0, 90 * DAY, 0)).toBe(60 * DAY);
    expect(renewalTime(0, 90 * DAY, 1)).toBe(57 * DAY);
    expect(renewalTime(1000, 1000, 0.5)).toBe(1000);
  });

  it('takes the ARI window only when it comes first, and a past window means now', () => {
    expect(renewalTimeWithWindow(60 * DAY, { start: 10 * DAY, end: 12 * DAY }, 0, 0.5)).toBe(11 * DAY);
    expect(renewalTimeWithWindow(60 * DAY, { start: 70 * DAY, end: 80 * DAY }, 0, 0.5)).toBe(60 * DAY);
    expect(renewalTimeWithWindow(60 * DAY, { start: 1, end: 2 }, 5 * DAY, 0.5)).toBe(5 * DAY);
    expect(renewalTimeWithWindow(60 * DAY, undefined, 0, 0.5)).toBe(60 * DAY);
  });

  it('backs off exponentially, capped', () => {
    const options = { baseMs: 60_000, capMs: 6 * 60 * 60_000 };
    expect([1, 2, 3, 4].map((n) => retryDelay(n, options, 0))).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(retryDelay(40, options, 0)).toBe(options.capMs);
    expect(retryDelay(1, options, 1)).toBe(48_000);
  });
});

describe('ClientHello offer', () => {
  it('reads SNI and ALPN from a real ClientHello, and refuses what is not TLS', async () => {
    const hello = await new Promise<Buffer>((resolve) => {
      const server = net.createServer((socket) => {
        socket.once('data', (chunk: Buffer) => {
          resolve(chunk);
          socket.destroy();
          server.close();
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const client = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, servername: 'Example.COM', ALPNProtocols: ['acme-tls/1'] });
        client.on('error', () => undefined);
      });
    });
    expect(readClientHello(hello)).toEqual({ servername: 'example.com', alpn: ['acme-tls/1'] });
    expect(readClientHello(hello.subarray(0, 20))).toBe('incomplete');
    expect(readClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toBe('not-tls');
  });
});

describe('ACME configuration from the environment', () => {
  const base = { ACME_DIRECTORY_URL: 'https://acme.example/dir', ACME_DOMAINS: 'example.com, WWW.example.com' };

  it('reads the variables with their defaults', () => {
    const config = loadConfig(base).acme!;
    expect(config).toMatchObject({ directoryUrl: 'https://acme.example/dir', domains: ['example.com', 'www.example.com'], keyType: 'ec-p256', httpPort: undefined });
    expect(loadConfig({}).acme).toBeUndefined();
  });

  it.each([
    [{ ...base, ACME_DIRECTORY_URL: 'http://acme.example/dir' }, /ACME_DIRECTORY_URL must be an https/],
    [{ ...base, ACME_DOMAINS: '' }, /ACME_DOMAINS must name at least one/],
    [{ ...base, ACME_DOMAINS: '*.example.com' }, /wildcard/],
    [{ ...base, ACME_KEY_TYPE: 'dsa' }, /ACME_KEY_TYPE must be one of ec-p256, rsa-2048/],
    [{ ...base, ACME_HTTP_PORT: '70000' }, /ACME_HTTP_PORT must be a whole number/],
    [{ ...base, ACME_EAB_KID: 'kid' }, /ACME_EAB_HMAC_KEY must be set together/],
    [{ ...base, ACME_DIRECTORY_CA_FILE: '/nonexistent/ca.pem' }, /ACME_DIRECTORY_CA_FILE \/nonexistent\/ca.pem cannot be read/],
    [{ ACME_DOMAINS: 'example.com' }, /ACME_DOMAINS set without ACME_DIRECTORY_URL/],
  ])('refuses %j in one line', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
