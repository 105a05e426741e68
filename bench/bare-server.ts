import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * The baseline: a bare node:https server with the same certificate, the same TLS options and the same
 * response bytes as hotcert's GET /v1/health. Started as its own process, like hotcert.
 */
interface BareConfig {
  keyPem: string;
  certPem: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

const config = JSON.parse(readFileSync(process.env.BARE_CONFIG ?? '', 'utf8')) as BareConfig;
const body = Buffer.from(config.body, 'utf8');
const server = https.createServer(
  { minVersion: 'TLSv1.2', key: config.keyPem, cert: config.certPem, keepAliveTimeout: 5_000 },
  (_request, response) => {
    response.writeHead(config.status, config.headers);
    response.end(body);
  },
);
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ event: 'listening', port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
