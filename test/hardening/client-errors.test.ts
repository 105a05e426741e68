import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { bearer } from '../helpers/https-client.js';
import { useAdminServer } from '../helpers/start-server.js';

/** Writes raw bytes over TLS and resolves with everything the server sent until it closed. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.once('close', () => resolve(answer));
    socket.once('error', reject);
  });
}

describe('client errors are not internal errors', () => {
  const ctx = useAdminServer();

  const lines = () => ctx.server.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
  const requestLines = (route: string) => lines().filter((line) => line.event === 'http.request' && line.route === route);

  it('answers 400 to bodies Node cannot read, logs them at warn without "internal", counts them as 4xx', async () => {
    const bodies = [
      { route: '/v1/users/login', head: 'Authorization: Basic YWRtaW46eA==\r\nContent-Type: application/json\r\nTransfer-Encoding: xchunked', body: '5\r\nhello\r\n0\r\n\r\n' },
      { route: '/v1/certificates/external', head: `Authorization: Bearer ${ctx.token}\r\nContent-Type: text/plain\r\nTransfer-Encoding: xchunked`, body: '5\r\nhello\r\n0\r\n\r\n' },
      { route: '/v1/certificates/external', head: `Authorization: Bearer ${ctx.token}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked`, body: '5;a=\0b\r\nhello\r\n0\r\n\r\n' },
      { route: '/v1/users/login', head: 'Authorization: Basic YWRtaW46eA==\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked', body: '5;a=\0b\r\nhello\r\n0\r\n\r\n' },
    ];
    const before = lines().length;
    for (const { route, head, body } of bodies) {
      const seen = requestLines(route).length;
      const answer = await raw(ctx.server.port, `POST ${route} HTTP/1.1\r\nHost: 127.0.0.1\r\n${head}\r\n\r\n${body}`);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      // The app's own request line arrives once it has given up on the body: wait for it (bounded).
      for (let probe = 0; probe < 200 && requestLines(route).length === seen; probe++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(requestLines(route).at(-1)).toMatchObject({ status: 400 });
    }
    const logged = lines().slice(before);
    expect(logged.filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
    expect(JSON.stringify(logged)).not.toMatch(/internal/i);
    expect(logged.filter((line) => line.event === 'http.bad_body' && line.level === 'warn')).toHaveLength(bodies.length);

    const metrics = (await ctx.server.request('GET', '/v1/metrics?format=prometheus', { headers: bearer(ctx.token) })).text;
    expect(metrics).not.toMatch(/hotcert_http_requests_total\{[^}]*status="5\d\d"/);
    expect(metrics).toMatch(/hotcert_http_requests_total\{method="POST",route="\/v1\/certificates\/external",status="400"\} 2/);
  });
});
