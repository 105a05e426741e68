import type tls from 'node:tls';
import { contextOptions, type TlsIdentity } from './tls-identity.js';

/**
 * Holds the identity every listener of this process serves, and swaps it atomically:
 * setSecureContext replaces key and chain together, so no handshake mixes two versions.
 * The current ticket keys are passed on, so sessions issued before a swap still resume.
 */
export function createIdentitySwitch(initial?: TlsIdentity) {
  let current: TlsIdentity | undefined = initial;
  const servers = new Set<tls.Server>();

  return {
    current: () => current,
    /** Options for creating a new listener with the current identity. */
    serverOptions(): tls.SecureContextOptions {
      if (!current) throw new Error('no identity to serve yet');
      return contextOptions(current);
    },
    attach(server: tls.Server): void {
      servers.add(server);
      server.once('close', () => servers.delete(server));
    },
    /** Throws (and changes nothing) if OpenSSL refuses the identity on the first listener. */
    swap(next: TlsIdentity): void {
      const options = contextOptions(next);
      const swapped: tls.Server[] = [];
      const previous = current;
      try {
        for (const server of servers) {
          server.setSecureContext({ ...options, ticketKeys: server.getTicketKeys() });
          swapped.push(server);
        }
      } catch (error) {
        const restore = previous && contextOptions(previous);
        if (restore) for (const server of swapped) server.setSecureContext({ ...restore, ticketKeys: server.getTicketKeys() });
        throw error;
      }
      current = next;
    },
  };
}

export type IdentitySwitch = ReturnType<typeof createIdentitySwitch>;
