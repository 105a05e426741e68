import type { MiddlewareHandler } from 'hono';
import { clientAddress } from './client-address.js';
import { tooMany } from './errors.js';

/** At most `perClient` uploads in flight from one client address; the rest get 429 before their body is read. */
export function limitConcurrentUploads({ perClient }: { perClient: number }): MiddlewareHandler {
  const inFlight = new Map<string, number>();
  return async function limitConcurrentUploadsMiddleware(c, next) {
    const address = clientAddress(c);
    const current = inFlight.get(address) ?? 0;
    if (current >= perClient) throw tooMany(`at most ${perClient} uploads at a time from one client; wait for the others to finish`, 1);
    inFlight.set(address, current + 1);
    try {
      await next();
    } finally {
      const left = (inFlight.get(address) ?? 1) - 1;
      if (left <= 0) inFlight.delete(address);
      else inFlight.set(address, left);
    }
  };
}
