import type net from 'node:net';
import type tls from 'node:tls';
import { ACME_TLS_ALPN } from './challenge-responder.js';
import { MAX_CLIENT_HELLO_BYTES, readClientHello } from './client-hello.js';

/**
 * TLS-ALPN-01 on hotcert's own port. OpenSSL picks the certificate before it asks for ALPN in TLS 1.2
 * (and the CA's validator may speak 1.2), so the choice cannot be made inside the handshake: the
 * ClientHello is read first, a connection offering `acme-tls/1` goes to the challenge server, every
 * other one to the listener's own TLS stack, with the bytes read put back.
 */
export function routeTlsAlpnChallenges(server: net.Server, options: { enabled: () => boolean; challengeServer: tls.Server; timeoutMs: number }): void {
  const own = server.listeners('connection') as ((socket: net.Socket) => void)[];
  server.removeAllListeners('connection');
  const handOver = (socket: net.Socket) => {
    for (const listener of own) listener.call(server, socket);
  };
  server.on('connection', (socket: net.Socket) => {
    if (!options.enabled()) return handOver(socket);
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), options.timeoutMs);
    // Until a TLS stack owns the socket, a reset must not become an uncaught 'error'.
    const onError = () => socket.destroy();
    const done = (to: 'own' | 'challenge' | 'none') => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.pause();
      if (to === 'none' || socket.destroyed) return socket.destroy();
      socket.unshift(received);
      if (to === 'own') handOver(socket);
      else options.challengeServer.emit('connection', socket);
    };
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const offer = readClientHello(received);
      if (offer === 'incomplete' && received.length < MAX_CLIENT_HELLO_BYTES) return;
      done(offer !== 'incomplete' && offer !== 'not-tls' && offer.alpn.includes(ACME_TLS_ALPN) ? 'challenge' : 'own');
    };
    const onEnd = () => done('none');
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.on('error', onError);
  });
}
