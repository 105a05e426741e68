import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/start-server.js';
import { expectedDownloadHash, startUpstream, type UpstreamApp } from './upstream-app.js';

function h2connect(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/** One h2 request; the answer's body is hashed and, when short, kept as text. */
function h2request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer[]) {
  return new Promise<{ headers: http2.IncomingHttpHeaders; bytes: number; sha256: string; text: string }>((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    const hash = createHash('sha256');
    let bytes = 0;
    let text = '';
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
      if (text.length < 8192) text += chunk.toString('utf8');
    });
    stream.on('end', () => resolve({ headers: responseHeaders, bytes, sha256: hash.digest('hex'), text }));
    stream.on('error', reject);
    if (body) {
      for (const piece of body) stream.write(piece);
      stream.end();
    }
  });
}

const pairs = (raw: string[]) => raw.flatMap((name, i) => (i % 2 === 0 ? [[name.toLowerCase(), raw[i + 1]!] as const] : []));

describe('reverse proxy over HTTP/2', () => {
  let upstream: UpstreamApp;
  let server: TestServer;
  let session: http2.ClientHttp2Session;

  beforeAll(async () => {
    upstream = await startUpstream();
    server = await startTestServer({ env: { UPSTREAM: upstream.url } });
    session = await h2connect(server.port);
  });
  afterAll(async () => {
    session?.close();
    await server?.close();
    await upstream?.close();
  });

  it('forwards an h2 request as HTTP/1.1: Host from :authority, no pseudo-headers, cookies joined, X-Forwarded-*', async () => {
    const answer = await h2request(session, { ':method': 'GET', ':path': '/app/headers?q=1', cookie: ['a=1', 'b=2'], 'x-custom': 'kept', te: 'trailers' });
    expect(answer.headers[':status']).toBe(200);
    const seen = JSON.parse(answer.text) as { method: string; url: string; rawHeaders: string[] };
    expect(seen).toMatchObject({ method: 'GET', url: '/app/headers?q=1' });
    const sent = pairs(seen.rawHeaders);
    expect(sent.filter(([name]) => name.startsWith(':'))).toEqual([]);
    expect(sent.filter(([name]) => name === 'host')).toEqual([['host', `127.0.0.1:${server.port}`]]);
    expect(sent.filter(([name]) => name === 'cookie')).toEqual([['cookie', 'a=1; b=2']]);
    expect(sent).toContainEqual(['x-custom', 'kept']);
    expect(sent).toContainEqual(['x-forwarded-proto', 'https']);
    expect(sent).toContainEqual(['x-forwarded-host', `127.0.0.1:${server.port}`]);
    expect(sent.find(([name]) => name === 'forwarded')?.[1]).toContain(`host="127.0.0.1:${server.port}"`);
    expect(sent.find(([name]) => name === 'te')).toBeUndefined();
    // The upstream's hop-by-hop answer headers never reach the h2 client (they would be a protocol error there).
    expect(answer.headers['x-upstream']).toBe('yes');
    expect(answer.headers['x-upstream-hop']).toBeUndefined();
    expect(answer.headers.connection).toBeUndefined();
    expect(answer.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('streams an h2 upload without content-length and a large download, byte-exact', async () => {
    const pieces = Array.from({ length: 40 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const expected = createHash('sha256');
    for (const piece of pieces) expected.update(piece);
    const upload = await h2request(session, { ':method': 'POST', ':path': '/upload', 'content-type': 'application/octet-stream' }, pieces);
    expect(upload.headers[':status']).toBe(200);
    expect(JSON.parse(upload.text)).toEqual({ bytes: 40 * 64 * 1024, sha256: expected.digest('hex') });

    const bytes = 8 * 1024 * 1024 + 123;
    const download = await h2request(session, { ':method': 'GET', ':path': `/download?bytes=${bytes}` });
    expect(download.headers[':status']).toBe(200);
    expect(download.bytes).toBe(bytes);
    expect(download.sha256).toBe(expectedDownloadHash(bytes));
  });

  it("keeps hotcert's own paths on the same h2 session", async () => {
    const health = await h2request(session, { ':method': 'GET', ':path': '/healthz' });
    expect(JSON.parse(health.text)).toEqual({ status: 'ok' });
    expect(upstream.seen.some((r) => r.url === '/healthz')).toBe(false);
  });
});
