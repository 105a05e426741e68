import https from 'node:https';
import tls from 'node:tls';
import { loginAsAdmin } from './admin-login.js';

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface RequestOptions {
  headers?: Record<string, string> | undefined;
  body?: string | Buffer | undefined;
  agent?: https.Agent | false | undefined;
  /** Bind the client end here (127.0.0.2, 127.0.0.3, …) to play several clients on loopback. */
  localAddress?: string | undefined;
}

/** A response body parsed as JSON, or undefined when it is empty or not JSON. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A real HTTPS request to 127.0.0.1 that accepts the server's self-signed certificate. */
export function request(port: number, method: string, path: string, options: RequestOptions = {}): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method, path, headers: options.headers, rejectUnauthorized: false, agent: options.agent ?? false, localAddress: options.localAddress },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: jsonOrUndefined(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

const hex = (fingerprint256: string) => fingerprint256.replaceAll(':', '').toLowerCase();

/** A real TLS handshake; resolves with the leaf the server presented (and the whole chain). */
export function peerCertificate(port: number) {
  return new Promise<{ fingerprint: string; cert: tls.DetailedPeerCertificate; chain: string[] }>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate(true);
      const chain: string[] = [];
      for (let cursor: tls.DetailedPeerCertificate | undefined = cert; cursor?.fingerprint256 && !chain.includes(hex(cursor.fingerprint256)); cursor = cursor.issuerCertificate) {
        chain.push(hex(cursor.fingerprint256));
      }
      socket.end();
      resolve({ fingerprint: hex(cert.fingerprint256), cert, chain });
    });
    socket.once('error', reject);
  });
}

/** An admin token from the server on `port` (see loginAsAdmin). */
export function adminToken(port: number, password?: string): Promise<string> {
  return loginAsAdmin((headers, body) => request(port, 'POST', '/v1/users/login', { headers, body }), password);
}
