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
      extra = pems;
      const previous = agent;
      agent = new https.Agent({ keepAlive: true, ca: [...tls.rootCertificates, ...pems] });
      previous.destroy();
    },
    certificates: (): readonly string[] => extra,
    agent: (): https.Agent => agent,
  };
}

export type TrustStore = ReturnType<typeof createTrustStore>;
