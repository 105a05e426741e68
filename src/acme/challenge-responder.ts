import tls from 'node:tls';
import type { Logger } from 'pino';
import type { createAcmeChallengesRepo } from '../db/acme-challenges-repo.js';
import { unseal } from '../secrets/seal.js';

/** RFC 8737: the ALPN protocol of a TLS-ALPN-01 validation handshake. */
export const ACME_TLS_ALPN = 'acme-tls/1';

/** What the ALPN callback leaves on the socket for the SNI callback of the same handshake. */
const wantsChallenge = Symbol('acme-tls/1 requested');

type ChallengesRepo = ReturnType<typeof createAcmeChallengesRepo>;
type MarkedSocket = tls.TLSSocket & { [wantsChallenge]?: string };

export const challengeKeyContext = (token: string) => `acme-challenge:${token}`;

/**
 * Answers ACME challenges from the database, so whichever process the CA reaches answers:
 * TLS-ALPN-01 inside the TLS handshake of hotcert's own listener, HTTP-01 for the plain listener.
 */
export function createChallengeResponder(deps: { repo: ChallengesRepo; masterKey: Buffer; clock: () => number; logger: Logger }) {
  const { repo, masterKey, clock, logger } = deps;
  // A challenge's context is built once per token, not per validation handshake (the CA makes several).
  const contexts = new Map<string, tls.SecureContext>();

  return {
    /**
     * Node runs the ALPN callback before the certificate callback (SNICallback) of the same handshake;
     * `this` is the socket in both, so the mark tells SNICallback to answer with the challenge certificate.
     */
    tlsOptions(): Pick<tls.TlsOptions, 'ALPNCallback' | 'SNICallback'> {
      return {
        ALPNCallback(this: MarkedSocket, { servername, protocols }: { servername: string; protocols: string[] }) {
          if (protocols.includes(ACME_TLS_ALPN) && servername) {
            this[wantsChallenge] = servername.toLowerCase();
            return ACME_TLS_ALPN;
          }
          // What http2.createSecureServer with allowHTTP1 negotiates by itself: h2 first.
          if (protocols.includes('h2')) return 'h2';
          if (protocols.includes('http/1.1')) return 'http/1.1';
          return undefined;
        },
        SNICallback(this: MarkedSocket, servername: string, callback: (error: Error | null, context?: tls.SecureContext) => void) {
          const name = this[wantsChallenge];
          // Every other handshake keeps the listener's own (real) certificate.
          if (name === undefined) return callback(null, undefined);
          delete this[wantsChallenge];
          tlsAlpnContext(name).then(
            (context) => (context ? callback(null, context) : callback(new Error(`no pending TLS-ALPN-01 challenge for ${servername}`))),
            (error: unknown) => {
              logger.error({ event: 'acme.challenge_lookup_failed', error_name: (error as Error).name }, 'reading the pending challenge failed');
              callback(error as Error);
            },
          );
        },
      };
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
