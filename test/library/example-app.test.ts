import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createHotcert } from '../../src/index.js';
import { adminToken, bearer, peerCertificate, request } from '../helpers/https-client.js';
import { createChain } from '../helpers/pki.js';
import { ROOT } from '../helpers/spawn-server.js';

const EXAMPLE = path.join(ROOT, 'dist', 'examples', 'library', 'app.js');

/** examples/library/app.ts, compiled, as its own process: it imports the package by its name ('hotcert'). */
function startExample(dataDir: string): Promise<{ child: ChildProcess; port: number; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [EXAMPLE], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n').slice(0, -1)) {
        const entry = JSON.parse(line) as { event?: string; port?: number };
        if (entry.event === 'listening') resolve({ child, port: entry.port!, exited });
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
    void exited.then((code) => reject(new Error(`example exited with ${code} before listening: ${stderr.join('')}`)));
  });
}

describe('library mode: the example application', () => {
  let dataDir: string;
  let example: Awaited<ReturnType<typeof startExample>>;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-example-'));
    example = await startExample(dataDir);
  });
  afterAll(() => {
    if (example.child.exitCode === null) example.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves the application's own route and hotcert's control API on one HTTPS listener", async () => {
    const hello = await request(example.port, 'GET', '/hello');
    expect(hello.status).toBe(200);
    expect(hello.json).toEqual({ hello: 'world' });
    const echo = await request(example.port, 'POST', '/echo', { body: 'ping', headers: { 'Content-Type': 'text/plain' } });
    expect(echo.text).toBe('ping');
    expect((await request(example.port, 'GET', '/healthz')).json).toEqual({ status: 'ok' });
    // A path the application does not have gets the application's 404, not hotcert's envelope.
    const unknown = await request(example.port, 'GET', '/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toBeUndefined();
  });

  it('presents an uploaded certificate on the next handshake, and the application keeps answering', async () => {
    const token = await adminToken(example.port);
    const chain = await createChain({ keyKind: 'ec256', sans: ['localhost', '127.0.0.1'] });
    const uploaded = await request(example.port, 'POST', '/v1/certificates/external', {
      headers: { ...bearer(token), 'Content-Type': 'text/plain' },
      body: chain.bundle,
    });
    expect(uploaded.status).toBe(201);
    const peer = await peerCertificate(example.port);
    expect(peer.fingerprint).toBe(chain.leaf.cert.fingerprint256.replaceAll(':', '').toLowerCase());
    expect((await request(example.port, 'GET', '/hello')).status).toBe(200);
  });

  it('closes cleanly: after SIGTERM the example calls close() and its process ends by itself with code 0', async () => {
    example.child.kill('SIGTERM');
    // The example never calls process.exit: it can only end if close() left no server, thread or timer behind.
    expect(await example.exited).toBe(0);
  });
});

describe('library mode: createHotcert', () => {
  it('rejects bad options with a ConfigError and creates nothing', async () => {
    const dataDir = path.join(os.tmpdir(), `hotcert-never-${process.pid}`);
    await expect(createHotcert({ dataDir, masterKey: 'not base64 of 32 bytes' })).rejects.toBeInstanceOf(ConfigError);
    await expect(createHotcert({ dataDir, apiKey: 'short' })).rejects.toThrow(/API_KEY/);
  });

  it('listens once, refuses to listen after close(), and the data directory opens again', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-lib-'));
    try {
      const { createLogger } = await import('../../src/observability/logger.js');
      const hc = await createHotcert({ dataDir, logger: createLogger('silent') });
      const app = { fetch: () => new Response('app') };
      const { port } = await hc.listen(app, { port: 0, host: '127.0.0.1' });
      await expect(hc.listen(app, { port: 0, host: '127.0.0.1' })).rejects.toThrow(/already listening/);
      expect((await request(port, 'GET', '/anything')).text).toBe('app');
      await hc.close(1000);
      await expect(hc.listen(app)).rejects.toThrow(/closed/);
      const again = await createHotcert({ dataDir, logger: createLogger('silent') });
      await again.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
