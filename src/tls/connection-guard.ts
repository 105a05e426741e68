import type net from 'node:net';
import type { Logger } from 'pino';
import { addressKey } from '../http/address-key.js';

/**
 * At most `maxPerClient` open connections per client address (IPv6 per /64): one more is closed
 * at once, before any TLS work, so one client cannot hold every file descriptor.
 */
export function limitConnectionsPerClient(server: net.Server, maxPerClient: number, logger: Logger): void {
  const open = new Map<string, number>();
  // One warning per client per minute: a flood of refused connections must not become a flood of log lines.
  const warned = new Map<string, number>();
  server.on('connection', (socket: net.Socket) => {
    const client = addressKey(socket.remoteAddress ?? 'unknown');
    const count = open.get(client) ?? 0;
    if (count >= maxPerClient) {
      socket.destroy();
      const now = Date.now();
      if (now - (warned.get(client) ?? -Infinity) < 60_000) return;
      if (warned.size > 10_000) warned.clear();
      warned.set(client, now);
      logger.warn({ event: 'connection.refused', client_address: socket.remoteAddress, open: count }, 'too many connections from one client (further refusals for a minute are not logged)');
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
