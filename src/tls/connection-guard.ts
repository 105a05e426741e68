import type net from 'node:net';
import type { Logger } from 'pino';
import { addressKey } from '../http/address-key.js';

/**
 * At most `maxPerClient` open connections per client address (IPv6 per /64): one more is closed
 * at once, before any TLS work, so one client cannot hold every file descriptor.
 */
export function limitConnectionsPerClient(server: net.Server, maxPerClient: number, logger: Logger): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: net.Socket) => {
    const client = addressKey(socket.remoteAddress ?? 'unknown');
    const count = open.get(client) ?? 0;
    if (count >= maxPerClient) {
      logger.warn({ event: 'connection.refused', client_address: socket.remoteAddress, open: count }, 'too many connections from one client');
      socket.destroy();
      return;
    }
    open.set(client, count + 1);
    socket.once('close', () => {
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
    });
  });
}
