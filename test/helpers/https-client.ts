import https from 'node:https';
import tls from 'node:tls';

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: https.Agent | false;
}

/** A real HTTPS request to 127.0.0.1 that accepts the server's self-signed certificate. */
export function request(port: number, method: string, path: string, options: RequestOptions = {}): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method, path, headers: options.headers, rejectUnauthorized: false, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
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

/** A real TLS handshake; resolves with the leaf the server presented (and the whole chain). */
export function peerCertificate(port: number, options: { servername?: string; session?: Buffer } = {}) {
  return new Promise<{ fingerprint: string; cert: tls.DetailedPeerCertificate; chain: string[]; reused: boolean; session?: Buffer }>((resolve, reject) => {
    let session: Buffer | undefined;
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: options.servername, session: options.session, maxVersion: options.session ? 'TLSv1.2' : undefined });
    socket.once('session', (s) => (session = s));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate(true);
      const chain: string[] = [];
      let cursor: tls.DetailedPeerCertificate | undefined = cert;
      const seen = new Set<string>();
      while (cursor && cursor.fingerprint256 && !seen.has(cursor.fingerprint256)) {
        seen.add(cursor.fingerprint256);
        chain.push(cursor.fingerprint256.replaceAll(':', '').toLowerCase());
        cursor = cursor.issuerCertificate;
      }
      const reused = socket.isSessionReused();
      setImmediate(() => {
        socket.end();
        resolve({ fingerprint: cert.fingerprint256.replaceAll(':', '').toLowerCase(), cert, chain, reused, session: session ?? socket.getSession() });
      });
    });
    socket.once('error', reject);
  });
}
