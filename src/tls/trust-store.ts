import https from 'node:https';
import tls from 'node:tls';

/**
 * The trust store for outgoing HTTPS calls (webhooks): Node's root CAs plus the uploaded bundle.
 * `agent()` always hands out the agent for the current bundle; replacing the bundle needs no restart.
 */
export function createTrustStore() {
  let extra: string[] = [];
  let agent = new https.Agent({ keepAlive: true, ca: [...tls.rootCertificates] });

  return {
    set(pems: string[]): void {
      if (pems.length === extra.length && pems.every((pem, i) => pem === extra[i])) return;
      extra = pems;
      const previous = agent;
      agent = new https.Agent({ keepAlive: true, ca: [...tls.rootCertificates, ...pems] });
      // Requests in flight finish on their sockets, which then close; idle ones (trusting the old bundle) close now.
      for (const sockets of Object.values(previous.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
      (previous as unknown as { keepAlive: boolean }).keepAlive = false;
    },
    certificates: (): readonly string[] => extra,
    agent: (): https.Agent => agent,
  };
}

export type TrustStore = ReturnType<typeof createTrustStore>;
