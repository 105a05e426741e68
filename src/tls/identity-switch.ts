import type tls from 'node:tls';
import { releaseSecureContext } from './release-context.js';
import { contextOptions, type TlsIdentity } from './tls-identity.js';

/** The SecureContext new handshakes on a listener use (Node's undocumented `_sharedCreds`). */
function sharedContext(server: tls.Server): tls.SecureContext | undefined {
  return (server as unknown as { _sharedCreds?: tls.SecureContext })._sharedCreds;
}

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
      const replaced: (tls.SecureContext | undefined)[] = [];
      const previous = current;
      try {
        for (const server of servers) {
          const before = sharedContext(server);
          server.setSecureContext({ ...options, ticketKeys: server.getTicketKeys() });
          swapped.push(server);
          replaced.push(before);
        }
      } catch (error) {
        const restore = previous && contextOptions(previous);
        if (restore) {
          for (const server of swapped) {
            const failed = sharedContext(server);
            server.setSecureContext({ ...restore, ticketKeys: server.getTicketKeys() });
            releaseSecureContext(failed);
          }
        }
        throw error;
      }
      current = next;
      replaced.forEach(releaseSecureContext);
    },
  };
}

export type IdentitySwitch = ReturnType<typeof createIdentitySwitch>;
