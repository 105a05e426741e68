import tls from 'node:tls';
import type { Logger } from 'pino';
import type { createAcmeChallengesRepo } from '../db/acme-challenges-repo.js';
import { unseal } from '../secrets/seal.js';
import { sealContexts } from '../secrets/seal-contexts.js';

/** RFC 8737: the ALPN protocol of a TLS-ALPN-01 validation handshake. */
export const ACME_TLS_ALPN = 'acme-tls/1';

type ChallengesRepo = ReturnType<typeof createAcmeChallengesRepo>;

export const challengeKeyContext = sealContexts.acmeChallenge;

/**
 * Answers ACME challenges from the database, so whichever process the CA reaches answers:
 * TLS-ALPN-01 inside the TLS handshake of hotcert's own listener, HTTP-01 for the plain listener.
 */
export function createChallengeResponder(deps: { repo: ChallengesRepo; masterKey: Buffer; clock: () => number; logger: Logger }) {
  const { repo, masterKey, clock, logger } = deps;
  // A challenge's context is built once per token, not per validation handshake (the CA makes several).
  const contexts = new Map<string, tls.SecureContext>();
  let tlsAlpnEnabled = false;

  return {
    /** Whether hotcert's listener should look for `acme-tls/1` handshakes (ACME on, with TLS-ALPN-01). */
    tlsAlpnEnabled: () => tlsAlpnEnabled,
    setTlsAlpnEnabled(enabled: boolean): void {
      tlsAlpnEnabled = enabled;
    },

    /**
     * The TLS server that `acme-tls/1` connections are handed to (tls-alpn-router.ts): it answers with
     * the challenge certificate for the SNI name, or fails the handshake when none is pending.
     */
    createChallengeServer(handshakeTimeoutMs: number): tls.Server {
      const server = tls.createServer({
        ALPNProtocols: [ACME_TLS_ALPN],
        handshakeTimeout: handshakeTimeoutMs,
        SNICallback(servername, callback) {
          tlsAlpnContext(servername.toLowerCase()).then(
            (context) => (context ? callback(null, context) : callback(new Error(`no pending TLS-ALPN-01 challenge for ${servername}`))),
            (error: unknown) => {
              logger.error({ event: 'acme.challenge_lookup_failed', error_name: (error as Error).name }, 'reading the pending challenge failed');
              callback(error as Error);
            },
          );
        },
      });
      // The validator only reads the certificate; nothing is served over this connection.
      server.on('secureConnection', (socket) => socket.end());
      server.on('tlsClientError', (error) => logger.debug({ event: 'acme.challenge_handshake_failed', code: (error as NodeJS.ErrnoException).code }, 'acme-tls/1 handshake failed'));
      return server;
    },

    /** The key authorization to answer for an HTTP-01 token, or undefined. */
    async httpAnswer(token: string): Promise<string | undefined> {
      return (await repo.httpByToken(token, clock()))?.keyAuthorization;
    },

    /** Forget contexts of challenges that are gone (called after each order). */
    forget(token: string): void {
      contexts.delete(token);
    },
  };

  async function tlsAlpnContext(name: string): Promise<tls.SecureContext | undefined> {
    const row = await repo.tlsAlpnByDomain(name, clock());
    if (!row?.certPem || !row.keySealed) return undefined;
    let context = contexts.get(row.token);
    if (!context) {
      context = tls.createSecureContext({ key: unseal(masterKey, row.keySealed, challengeKeyContext(row.token)), cert: row.certPem });
      contexts.set(row.token, context);
      logger.info({ event: 'acme.challenge_answered', type: 'tls-alpn-01', domain: name }, 'answering a TLS-ALPN-01 validation');
    }
    return context;
  }
}

export type ChallengeResponder = ReturnType<typeof createChallengeResponder>;
