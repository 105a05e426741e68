import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ticketKeysFor } from '../../src/tls/ticket-keys.js';

describe('session-ticket keys', () => {
  const masterKey = randomBytes(32);
  const noon = Date.UTC(2026, 10, 29, 12);

  it('are 48 bytes, the same all day for one master key', () => {
    const keys = ticketKeysFor(masterKey, noon);
    expect(keys).toHaveLength(48);
    expect(ticketKeysFor(masterKey, Date.UTC(2026, 10, 29, 0, 0, 1)).equals(keys)).toBe(true);
    expect(ticketKeysFor(masterKey, Date.UTC(2026, 10, 29, 23, 59, 59)).equals(keys)).toBe(true);
  });

  it('change at UTC midnight and with the master key', () => {
    const keys = ticketKeysFor(masterKey, noon);
    expect(ticketKeysFor(masterKey, noon + 12 * 3600_000).equals(keys)).toBe(false);
    expect(ticketKeysFor(randomBytes(32), noon).equals(keys)).toBe(false);
  });
});
