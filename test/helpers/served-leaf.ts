import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';

/** A real handshake naming `servername` (SNI): the leaf hotcert served, or the handshake's error. */
export function servedLeaf(port: number, servername: string, alpn?: string[]): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...(alpn ? { ALPNProtocols: alpn } : {}) });
    socket.setTimeout(10_000, () => socket.destroy(new Error('handshake timed out')));
    socket.once('secureConnect', () => {
      const cert = new X509Certificate(socket.getPeerCertificate(true).raw);
      socket.end();
      resolve(cert);
    });
    socket.once('error', reject);
  });
}

/**
 * New handshakes one after another until `stop()` (bounded: at most 5,000), counting the failed ones:
 * what a client sees while a certificate changes under it.
 */
export function handshakeLoop(probe: () => Promise<unknown>) {
  let failures = 0;
  let handshakes = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped && handshakes < 5000) {
      try {
        await probe();
      } catch {
        failures++;
      }
      handshakes++;
    }
  })();
  return {
    async stop(): Promise<{ handshakes: number; failures: number }> {
      stopped = true;
      await loop;
      return { handshakes, failures };
    },
  };
}
