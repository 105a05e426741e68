import { createRoot, freshKey, issue, pemBundle, type KeyKind } from '../test/helpers/pki.js';

export type BenchKeyKind = 'ec' | 'rsa';

/** One uploadable bundle (key, leaf, one intermediate; root dropped) and what a client sees of it. */
export interface BenchBundle {
  kind: BenchKeyKind;
  pem: string;
  keyPem: string;
  certPem: string;
  chainPems: string[];
  /** As Node's getPeerCertificate().fingerprint256 prints it (upper-case hex with colons). */
  fingerprint256: string;
}

const KEY_KINDS: Record<BenchKeyKind, KeyKind> = { ec: 'ec256', rsa: 'rsa2048' };

/** A root and an intermediate of one key kind (the tests' PKI); `leaves(n)` issues n distinct uploadable bundles under them. */
export async function createBenchPki(kind: BenchKeyKind) {
  const keyKind = KEY_KINDS[kind];
  const root = await createRoot({ key: await freshKey(keyKind) });
  const intermediate = await issue(root, { isCa: true, key: await freshKey(keyKind) });
  return {
    async leaves(count: number): Promise<BenchBundle[]> {
      const out: BenchBundle[] = [];
      for (let i = 0; i < count; i++) {
        // A fresh key per leaf: every upload is a different identity, as in production.
        const leaf = await issue(intermediate, { key: await freshKey(keyKind) });
        out.push({
          kind,
          pem: pemBundle(leaf.keyPem, leaf.certPem, intermediate.certPem),
          keyPem: leaf.keyPem,
          certPem: leaf.certPem,
          chainPems: [intermediate.certPem],
          fingerprint256: leaf.cert.fingerprint256,
        });
      }
      return out;
    },
  };
}
