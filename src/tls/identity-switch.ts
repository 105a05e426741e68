import tls from 'node:tls';
import { releaseSecureContext } from './release-context.js';
import { contextOptions as contextOptionsFor, type TlsIdentity } from './tls-identity.js';
import type { TlsProfile } from './tls-profile.js';

/** The fields of a Node TLS server that setSecureContext fills (undocumented, stable since Node 11). */
interface ServerCreds {
  _sharedCreds?: tls.SecureContext;
  sessionIdContext?: string;
  ticketKeys?: Buffer;
}

/** An identity whose SecureContext is built: installing it is a pointer change that cannot fail. */
export interface PreparedIdentity {
  readonly identity: TlsIdentity;
  readonly ticketKeys: Buffer | undefined;
  readonly context: tls.SecureContext;
}

/**
 * Holds the identity every listener of this process serves, and swaps it atomically: one
 * SecureContext carries key, chain and session-ticket keys together, so no handshake mixes two
 * versions and no session made under one certificate resumes under another.
 */
export function createIdentitySwitch(initial?: TlsIdentity, profile: TlsProfile = 'intermediate') {
  // Listen and every swap build their contexts here, so each one carries the TLS profile.
  const contextOptions = (identity: TlsIdentity) => contextOptionsFor(identity, profile);
  let current: TlsIdentity | undefined = initial;
  let ticketKeys: Buffer | undefined;
  let sessionIdContext: string | undefined;
  const servers = new Set<tls.Server>();
  const creds = (server: tls.Server) => server as unknown as ServerCreds;

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
      // Session ids stay valid across swaps: every context gets the one Node chose for this server.
      sessionIdContext ??= creds(server).sessionIdContext;
      server.once('close', () => servers.delete(server));
    },
    /** Builds the SecureContext (the expensive, fallible step). Throws if OpenSSL refuses the identity; changes nothing. */
    prepare(identity: TlsIdentity, nextTicketKeys: Buffer | undefined = ticketKeys): PreparedIdentity {
      const context = tls.createSecureContext({
        ...contextOptions(identity),
        ...(nextTicketKeys ? { ticketKeys: nextTicketKeys } : {}),
        ...(sessionIdContext ? { sessionIdContext } : {}),
      });
      return { identity, ticketKeys: nextTicketKeys, context };
    },
    /** Every listener's next handshake uses the prepared context: assignments only, nothing that can fail. */
    install(prepared: PreparedIdentity): void {
      const replaced = new Set<tls.SecureContext | undefined>();
      for (const server of servers) {
        const fields = creds(server);
        replaced.add(fields._sharedCreds);
        fields._sharedCreds = prepared.context;
        if (prepared.ticketKeys) fields.ticketKeys = prepared.ticketKeys;
      }
      current = prepared.identity;
      ticketKeys = prepared.ticketKeys;
      replaced.delete(prepared.context);
      replaced.forEach(releaseSecureContext);
    },
    /** prepare + install, for callers that have nothing to do in between. */
    swap(next: TlsIdentity, nextTicketKeys: Buffer | undefined = ticketKeys): void {
      this.install(this.prepare(next, nextTicketKeys));
    },
  };
}

export type IdentitySwitch = ReturnType<typeof createIdentitySwitch>;
