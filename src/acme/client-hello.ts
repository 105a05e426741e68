/** What a TLS ClientHello offers, read before any TLS work (RFC 8446 §4.1.2, RFC 7301, RFC 6066 §3). */
export interface ClientHelloOffer {
  servername: string | undefined;
  alpn: string[];
}

/** Largest ClientHello waited for: one full TLS record. */
export const MAX_CLIENT_HELLO_BYTES = 5 + 16_384;

/**
 * 'not-tls' when the bytes cannot start a TLS handshake, 'incomplete' while the first record is still
 * arriving (a ClientHello with big key shares spans several TCP segments), else what it offers.
 * Anything malformed is 'not-tls': the TLS stack then refuses it as it would have.
 */
export function readClientHello(data: Buffer): ClientHelloOffer | 'incomplete' | 'not-tls' {
  if (data.length === 0) return 'incomplete';
  if (data[0] !== 22) return 'not-tls';
  if (data.length < 5) return 'incomplete';
  const recordLength = data.readUInt16BE(3);
  if (data.length < 5 + recordLength) return data.length >= MAX_CLIENT_HELLO_BYTES ? 'not-tls' : 'incomplete';
  const body = data.subarray(5, 5 + recordLength);
  try {
    if (body[0] !== 1) return 'not-tls';
    const helloLength = (body[1]! << 16) | (body[2]! << 8) | body[3]!;
    const hello = body.subarray(4, 4 + helloLength);
    if (hello.length < helloLength) return 'not-tls';
    let at = 2 + 32;
    at += 1 + hello[at]!;
    at += 2 + hello.readUInt16BE(at);
    at += 1 + hello[at]!;
    if (at + 2 > hello.length) return { servername: undefined, alpn: [] };
    const end = at + 2 + hello.readUInt16BE(at);
    at += 2;
    const offer: ClientHelloOffer = { servername: undefined, alpn: [] };
    while (at + 4 <= end) {
      const type = hello.readUInt16BE(at);
      const length = hello.readUInt16BE(at + 2);
      const ext = hello.subarray(at + 4, at + 4 + length);
      at += 4 + length;
      if (type === 0 && ext.length >= 5 && ext[2] === 0) {
        const nameLength = ext.readUInt16BE(3);
        offer.servername = ext.subarray(5, 5 + nameLength).toString('latin1').toLowerCase();
      } else if (type === 16 && ext.length >= 2) {
        let p = 2;
        while (p < ext.length) {
          const n = ext[p]!;
          offer.alpn.push(ext.subarray(p + 1, p + 1 + n).toString('latin1'));
          p += 1 + n;
        }
      }
    }
    return offer;
  } catch {
    return 'not-tls';
  }
}
