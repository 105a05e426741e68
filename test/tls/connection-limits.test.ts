import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/start-server.js';

/** A TCP connection that never says anything; resolves once connected. */
function silent(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

const closed = (socket: net.Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

function handshake(port: number, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // tls.connect passes localAddress on to net.connect; its type omits it.
    const socket = tls.connect({ host: '127.0.0.1', port, localAddress, rejectUnauthorized: false } as tls.ConnectionOptions);
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('handshake timeout', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { HANDSHAKE_TIMEOUT_MS: '300' } });
  });
  afterAll(() => server.close());

  it('closes a connection that never starts its handshake, and one that stalls half way', async () => {
    const idle = await silent(server.port);
    idle.on('error', () => undefined);
    await closed(idle);

    const stalled = await silent(server.port);
    stalled.on('error', () => undefined);
    // The first bytes of a ClientHello record header, then nothing.
    stalled.write(Buffer.from([0x16, 0x03, 0x01]));
    await closed(stalled);

    // A client that does its handshake is served as before.
    expect(await handshake(server.port, '127.0.0.1')).toMatch(/^[0-9A-F:]+$/);
  });
});

describe('connections per client address', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { MAX_CONNECTIONS_PER_CLIENT: '3', HANDSHAKE_TIMEOUT_MS: '120000' } });
  });
  afterAll(() => server.close());

  it('closes the connection over the cap at once, leaves the others and other clients alone', async () => {
    const held = await Promise.all([silent(server.port, '127.0.0.2'), silent(server.port, '127.0.0.2'), silent(server.port, '127.0.0.2')]);
    for (const socket of held) socket.on('error', () => undefined);

    const extra = await silent(server.port, '127.0.0.2');
    extra.on('error', () => undefined);
    await closed(extra);
    expect(held.every((socket) => !socket.destroyed)).toBe(true);

    // Another client address is not affected.
    expect(await handshake(server.port, '127.0.0.3')).toMatch(/^[0-9A-F:]+$/);
    // Refused again: closed at once again, but logged once a minute only.
    const more = await silent(server.port, '127.0.0.2');
    more.on('error', () => undefined);
    await closed(more);
    const warned = server.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === 'connection.refused');
    expect(warned.map((line) => line.client_address)).toEqual(['127.0.0.2']);

    // Once one of the three goes, the client may connect again (after the server saw it close).
    held[0]!.destroy();
    let served = false;
    for (let attempt = 0; attempt < 100 && !served; attempt++) {
      served = await handshake(server.port, '127.0.0.2').then(() => true, () => false);
    }
    expect(served).toBe(true);
    for (const socket of held) socket.destroy();
  });
});
