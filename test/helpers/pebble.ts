import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createRoot, issue } from './pki.js';
import { freePort } from './spawn-server.js';

const PEBBLE = '/usr/bin/pebble';
const CHALLTESTSRV = '/usr/bin/pebble-challtestsrv';

/** Tests that need an ACME server fail (never skip) with this when Debian's pebble is not installed. */
export function requirePebble(): void {
  if (!existsSync(PEBBLE) || !existsSync(CHALLTESTSRV)) {
    throw new Error('these tests need a real ACME server: install the Debian package "pebble" (apt-get install pebble), which ships /usr/bin/pebble and /usr/bin/pebble-challtestsrv');
  }
}

export interface PebbleOptions {
  /** Where pebble validates TLS-ALPN-01 and HTTP-01: hotcert's ports. */
  tlsPort: number;
  httpPort?: number;
  domainBlocklist?: string[];
  certificateValiditySeconds?: number;
  /** External account binding required, with these key ids and base64url HMAC keys (RFC 8555 §7.3.4). */
  externalAccountMACKeys?: Record<string, string>;
}

export interface Pebble {
  directoryUrl: string;
  listenPort: number;
  /** PEM of the CA that signed pebble's own HTTPS certificate (ACME_DIRECTORY_CA_FILE). */
  caFile: string;
  /** pebble's HTTPS certificate and key, for a test front that speaks for it. */
  listenCertPem: string;
  listenKeyPem: string;
  caPem: string;
  /** GET on pebble's management interface (roots, intermediates), trusting its CA. */
  management(pathname: string): Promise<string>;
  /** pebble (not challtestsrv) stops: the ACME server goes away. */
  stopPebble(): Promise<void>;
  startPebble(): Promise<void>;
  close(): Promise<void>;
}

function stop(child: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function started(child: ChildProcess, marker: RegExp, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (marker.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${output}`));
    });
  });
}

/** pebble and pebble-challtestsrv (its DNS: every name is 127.0.0.1) on free loopback ports, with a generated HTTPS certificate. */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  requirePebble();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-pebble-'));
  const root = await createRoot({ subject: 'CN=pebble listen test root' });
  const leaf = await issue(root, { sans: ['localhost', '127.0.0.1'] });
  writeFileSync(path.join(dir, 'cert.pem'), leaf.certPem);
  writeFileSync(path.join(dir, 'key.pem'), leaf.keyPem);
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(caFile, root.certPem);
  const [listenPort, managementPort, dnsPort, challManagementPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  writeFileSync(
    path.join(dir, 'pebble-config.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listenPort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: path.join(dir, 'cert.pem'),
        privateKey: path.join(dir, 'key.pem'),
        httpPort: options.httpPort ?? (await freePort()),
        tlsPort: options.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: options.externalAccountMACKeys !== undefined,
        ...(options.externalAccountMACKeys ? { externalAccountMACKeys: options.externalAccountMACKeys } : {}),
        domainBlocklist: options.domainBlocklist ?? [],
        ...(options.certificateValiditySeconds ? { certificateValidityPeriod: options.certificateValiditySeconds } : {}),
      },
    }),
  );
  const challtestsrv = spawn(
    CHALLTESTSRV,
    ['-dns01', `127.0.0.1:${dnsPort}`, '-management', `127.0.0.1:${challManagementPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-defaultIPv6', '', '-defaultIPv4', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await started(challtestsrv, /Starting management server|Creating TCP and UDP DNS-01 challenge server/, 'pebble-challtestsrv');

  let pebble: ChildProcess | undefined;
  const startPebbleProcess = async () => {
    pebble = spawn(PEBBLE, ['-config', path.join(dir, 'pebble-config.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
    });
    await started(pebble, /Listening on|ACME directory available/, 'pebble');
  };
  await startPebbleProcess();

  const agent = new https.Agent({ ca: root.certPem });
  return {
    directoryUrl: `https://127.0.0.1:${listenPort}/dir`,
    listenPort,
    caFile,
    caPem: root.certPem,
    listenCertPem: leaf.certPem,
    listenKeyPem: leaf.keyPem,
    management: (pathname) =>
      new Promise((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port: managementPort, path: pathname, agent }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
            res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`pebble management ${pathname}: ${res.statusCode}`))));
          })
          .on('error', reject);
      }),
    stopPebble: () => stop(pebble),
    startPebble: startPebbleProcess,
    async close() {
      await stop(pebble);
      await stop(challtestsrv);
      agent.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * pebble validates on a port fixed in its configuration, so hotcert's port is chosen before either
 * starts, and another process may take it in between (seen: EADDRINUSE). Starts pebble with a
 * free port, then `start(pebble, port)`; on EADDRINUSE, everything again with another port.
 */
export async function startWithPebble<T>(options: Omit<PebbleOptions, 'tlsPort'>, start: (pebble: Pebble, tlsPort: number) => Promise<T>): Promise<{ pebble: Pebble; started: T }> {
  for (let attempt = 1; ; attempt++) {
    const tlsPort = await freePort();
    const pebble = await startPebble({ ...options, tlsPort });
    try {
      return { pebble, started: await start(pebble, tlsPort) };
    } catch (error) {
      await pebble.close();
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 3) throw error;
    }
  }
}
