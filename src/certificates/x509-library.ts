import { webcrypto } from 'node:crypto';

type X509Library = typeof import('@peculiar/x509');

let loading: Promise<X509Library> | undefined;

/**
 * @peculiar/x509 (with reflect-metadata and Node's WebCrypto), loaded on first use: it holds ~20 MB of
 * memory that a running server needs only for a first boot's self-signed certificate and for CSRs.
 */
export function x509Library(): Promise<X509Library> {
  loading ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    return x509;
  })();
  return loading;
}
