import { beforeAll, describe, expect, it } from 'vitest';
import { canaryHandshake } from '../../src/tls/canary.js';
import { createChain, type TestChain } from '../helpers/pki.js';

let ec: TestChain;
let rsa: TestChain;
beforeAll(async () => {
  [ec, rsa] = await Promise.all([createChain(), createChain({ keyKind: 'rsa2048' })]);
});

const parts = (chain: TestChain) => ({ keyPem: chain.leaf.keyPem, certPem: chain.leaf.certPem, chainPems: chain.intermediates.map((c) => c.certPem) });

describe('rule 8: the canary handshake', () => {
  it('succeeds for a good EC, RSA and Ed25519 bundle', async () => {
    const ed = await createChain({ keyKind: 'ed25519' });
    for (const chain of [ec, rsa, ed]) expect(await canaryHandshake(parts(chain))).toBeNull();
  });

  it('fails for an EC key with an RSA certificate', async () => {
    const result = await canaryHandshake({ ...parts(rsa), keyPem: ec.leaf.keyPem });
    expect(result?.rule).toBe('canary-handshake');
  });

  it('fails for a key of the same type that does not match', async () => {
    const other = await createChain();
    const result = await canaryHandshake({ ...parts(ec), keyPem: other.leaf.keyPem });
    expect(result?.rule).toBe('canary-handshake');
    expect(result?.message).not.toContain(other.leaf.keyPem.split('\n')[1]);
  });

  it('fails cleanly for garbage input', async () => {
    const result = await canaryHandshake({ keyPem: 'not a key', certPem: ec.leaf.certPem, chainPems: [] });
    expect(result?.rule).toBe('canary-handshake');
  });

  it('runs many handshakes in memory: no listener, no socket, nothing left behind', async () => {
    const resources = (type: string) => process.getActiveResourcesInfo().filter((name) => name === type).length;
    const listeners = resources('TCPServerWrap');
    const sockets = resources('TCPSocketWrap');
    const timers = resources('Timeout');
    const other = await createChain();
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => canaryHandshake(parts(ec))),
      ...Array.from({ length: 10 }, () => canaryHandshake({ ...parts(ec), keyPem: other.leaf.keyPem })),
    ]);
    expect(results.slice(0, 10).every((r) => r === null)).toBe(true);
    expect(results.slice(10).every((r) => r?.rule === 'canary-handshake')).toBe(true);
    expect(resources('TCPServerWrap')).toBe(listeners);
    expect(resources('TCPSocketWrap')).toBe(sockets);
    // Every canary's timer is cleared when it settles.
    expect(resources('Timeout')).toBeLessThanOrEqual(timers);
  });
});
