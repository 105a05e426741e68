import type tls from 'node:tls';
import { releaseSecureContext } from './release-context.js';
import { contextOptions as contextOptionsFor, type TlsIdentity } from './tls-identity.js';
import type { TlsProfile } from './tls-profile.js';

/** The SecureContext new handshakes on a listener use (Node's undocumented `_sharedCreds`). */
function sharedContext(server: tls.Server): tls.SecureContext | undefined {
  return (server as unknown as { _sharedCreds?: tls.SecureContext })._sharedCreds;
}

/**
 * Holds the identity every listener of this process serves, and swaps it atomically:
 * setSecureContext replaces key, chain and session-ticket keys together, so no handshake mixes
 * two versions and no session made under one certificate resumes under another.
 */
export function createIdentitySwitch(initial?: TlsIdentity, profile: TlsProfile = 'intermediate') {
  // Listen and every swap build their contexts here, so each one carries the TLS profile.
  const contextOptions = (identity: TlsIdentity) => contextOptionsFor(identity, profile);
  let current: TlsIdentity | undefined = initial;
  let ticketKeys: Buffer | undefined;
  const servers = new Set<tls.Server>();

  return {
    current: () => current,
    ticketKeys: () => ticketKeys,
    /** Options for creating a new listener with the current identity. */
    serverOptions(): tls.SecureContextOptions {
      if (!current) throw new Error('no identity to serve yet');
      return { ...contextOptions(current), ...(ticketKeys ? { ticketKeys } : {}) };
    },
    /** New ticket keys for the same identity (another process rotated them). */
    setTicketKeys(keys: Buffer): void {
      for (const server of servers) server.setTicketKeys(keys);
      ticketKeys = keys;
    },
    attach(server: tls.Server): void {
      servers.add(server);
      server.once('close', () => servers.delete(server));
    },
    /** Throws (and changes nothing) if OpenSSL refuses the identity on the first listener. */
    swap(next: TlsIdentity, nextTicketKeys: Buffer | undefined = ticketKeys): void {
      const options = { ...contextOptions(next), ...(nextTicketKeys ? { ticketKeys: nextTicketKeys } : {}) };
      const swapped: tls.Server[] = [];
      const replaced: (tls.SecureContext | undefined)[] = [];
      const previous = current;
      try {
        for (const server of servers) {
          const before = sharedContext(server);
          server.setSecureContext({ ticketKeys: server.getTicketKeys(), ...options });
          swapped.push(server);
          replaced.push(before);
        }
      } catch (error) {
        const restore = previous && { ...contextOptions(previous), ...(ticketKeys ? { ticketKeys } : {}) };
        if (restore) {
          for (const server of swapped) {
            const failed = sharedContext(server);
            server.setSecureContext({ ticketKeys: server.getTicketKeys(), ...restore });
            releaseSecureContext(failed);
          }
        }
        throw error;
      }
      current = next;
      ticketKeys = nextTicketKeys;
      replaced.forEach(releaseSecureContext);
    },
  };
}

export type IdentitySwitch = ReturnType<typeof createIdentitySwitch>;
