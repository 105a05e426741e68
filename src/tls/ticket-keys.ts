import { hkdfSync } from 'node:crypto';
import type tls from 'node:tls';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Session-ticket keys derived from the master key and the UTC day: every process on one data
 * directory (WORKERS=N, or separate servers behind a balancer) issues and accepts the same
 * tickets, across restarts too, and the keys still change every day.
 */
export function ticketKeysFor(masterKey: Buffer, now: number): Buffer {
  const day = Math.floor(now / DAY_MS);
  return Buffer.from(hkdfSync('sha256', masterKey, 'hotcert tls session tickets', `day ${day}`, 48));
}

/** Applies today's keys now and again at each UTC midnight; returns a stop function. */
export function rotateTicketKeys(server: tls.Server, masterKey: Buffer, clock: () => number): () => void {
  let timer: NodeJS.Timeout | undefined;
  const apply = () => {
    server.setTicketKeys(ticketKeysFor(masterKey, clock()));
    const untilMidnight = DAY_MS - (clock() % DAY_MS) + 1000;
    timer = setTimeout(apply, untilMidnight);
    timer.unref();
  };
  apply();
  return () => clearTimeout(timer);
}
