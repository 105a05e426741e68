import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ChallengeResponder } from './challenge-responder.js';

const PREFIX = '/.well-known/acme-challenge/';
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export interface HttpChallengeServer {
  port: number;
  close(): Promise<void>;
}

/** ACME_HTTP_PORT: answers HTTP-01 tokens only; every other request is sent to HTTPS on hotcert's port. */
export function startHttpChallengeServer(options: { port: number; host?: string | undefined; httpsPort: number; responder: ChallengeResponder; logger: Logger }): Promise<HttpChallengeServer> {
  const { responder, logger } = options;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    if (path.startsWith(PREFIX) && (req.method === 'GET' || req.method === 'HEAD')) {
      const token = path.slice(PREFIX.length);
      const answer = TOKEN.test(token) ? responder.httpAnswer(token) : Promise.resolve(undefined);
      answer.then(
        (keyAuthorization) => {
          if (keyAuthorization === undefined) {
            res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('no such challenge\n');
            return;
          }
          logger.info({ event: 'acme.challenge_answered', type: 'http-01' }, 'answering an HTTP-01 validation');
          res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(req.method === 'HEAD' ? undefined : keyAuthorization);
        },
        (error: unknown) => {
          logger.error({ event: 'acme.challenge_lookup_failed', error_name: (error as Error).name }, 'reading the pending challenge failed');
          res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' }).end('challenge lookup failed\n');
        },
      );
      return;
    }
    // Host without its port (IPv6 in brackets kept), then hotcert's HTTPS port.
    const host = (req.headers.host ?? 'localhost').replace(/:\d+$/, '');
    const port = options.httpsPort === 443 ? '' : `:${options.httpsPort}`;
    res.writeHead(308, { Location: `https://${host}${port}${url}`, 'Content-Type': 'text/plain; charset=utf-8' }).end('use HTTPS\n');
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
