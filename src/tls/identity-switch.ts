import type tls from 'node:tls';
import { contextOptions, type TlsIdentity } from './tls-identity.js';

/** The part of Node's tls.Server internals we touch: the SecureContext new handshakes use (undocumented, so probed). */
interface SharedCreds {
  _sharedCreds?: { context?: { close?: () => void } };
}

/** The native context a listener serves right now, or undefined where Node does not expose it. */
function nativeContext(server: tls.Server): { close: () => void } | undefined {
  const context = (server as unknown as SharedCreds)._sharedCreds?.context;
  return typeof context?.close === 'function' ? (context as { close: () => void }) : undefined;
}

/**
 * Frees a replaced context's OpenSSL memory now instead of whenever V8 collects its small wrapper (V8 counts
 * ~1 KB for a context that holds tens of KB). Safe: each TLS connection took its own reference to the
 * SSL_CTX when it was accepted, so open and half-done handshakes keep working; new ones use the new context.
 */
function release(contexts: ({ close: () => void } | undefined)[]): void {
  for (const context of contexts) context?.close();
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
      const replaced: ({ close: () => void } | undefined)[] = [];
      const previous = current;
      try {
        for (const server of servers) {
          const before = nativeContext(server);
          server.setSecureContext({ ...options, ticketKeys: server.getTicketKeys() });
          swapped.push(server);
          replaced.push(before);
        }
      } catch (error) {
        const restore = previous && contextOptions(previous);
        if (restore) {
          for (const server of swapped) {
            const failed = nativeContext(server);
            server.setSecureContext({ ...restore, ticketKeys: server.getTicketKeys() });
            release([failed]);
          }
        }
        throw error;
      }
      current = next;
      release(replaced);
    },
  };
}

export type IdentitySwitch = ReturnType<typeof createIdentitySwitch>;
