import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { runCli } from '../helpers/spawn-server.js';

describe('loadConfig', () => {
  it('applies the SPEC defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 9090,
      host: undefined,
      dataDir: './data',
      masterKey: undefined,
      workers: 1,
      logLevel: 'info',
      maxUploadBytes: 1_048_576,
      apiKey: undefined,
      handshakeTimeoutMs: 10_000,
      maxConnectionsPerClient: 256,
      tlsProfile: 'intermediate',
      upstream: undefined,
      upstreamTimeoutMs: 60_000,
      maxProxyBodyBytes: undefined,
    });
  });

  it('reads the reverse-proxy variables', () => {
    expect(loadConfig({ UPSTREAM: 'http://127.0.0.1:8080', UPSTREAM_TIMEOUT_MS: '2500', MAX_PROXY_BODY_BYTES: '1048576' })).toMatchObject({
      upstream: { kind: 'tcp', host: '127.0.0.1', port: 8080 },
      upstreamTimeoutMs: 2500,
      maxProxyBodyBytes: 1_048_576,
    });
    expect(loadConfig({ UPSTREAM: 'http://app/' }).upstream).toMatchObject({ kind: 'tcp', host: 'app', port: 80 });
    expect(loadConfig({ UPSTREAM: 'http://[::1]:9000' }).upstream).toMatchObject({ kind: 'tcp', host: '::1', port: 9000 });
    expect(loadConfig({ UPSTREAM: 'unix:/run/app.sock' }).upstream).toMatchObject({ kind: 'unix', socketPath: '/run/app.sock' });
    expect(loadConfig({ MAX_PROXY_BODY_BYTES: '0' }).maxProxyBodyBytes).toBe(0);
  });

  it('reads every variable', () => {
    const key = Buffer.alloc(32, 7);
    const config = loadConfig({
      PORT: '8443', HOST: '127.0.0.1', DATA_DIR: '/tmp/x', MASTER_KEY: key.toString('base64'),
      WORKERS: '2', LOG_LEVEL: 'DEBUG', MAX_UPLOAD_BYTES: '2048', API_KEY: 'monitoring-key-1',
    });
    expect(config).toMatchObject({ port: 8443, host: '127.0.0.1', dataDir: '/tmp/x', workers: 2, logLevel: 'debug', maxUploadBytes: 2048, apiKey: 'monitoring-key-1' });
    expect(config.masterKey?.equals(key)).toBe(true);
  });

  it.each([
    [{ PORT: 'http' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ MASTER_KEY: 'c2hvcnQ=' }, /MASTER_KEY/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ WORKERS: '0' }, /WORKERS/],
    [{ MAX_UPLOAD_BYTES: '-1' }, /MAX_UPLOAD_BYTES/],
    [{ API_KEY: 'short' }, /API_KEY/],
    [{ UPSTREAM: '127.0.0.1:8080' }, /UPSTREAM/],
    [{ UPSTREAM: 'not a url' }, /UPSTREAM/],
    [{ UPSTREAM: 'https://127.0.0.1:8443' }, /UPSTREAM scheme https: is not supported/],
    [{ UPSTREAM: 'ftp://127.0.0.1' }, /UPSTREAM/],
    [{ UPSTREAM: 'http://127.0.0.1:8080/app' }, /UPSTREAM/],
    [{ UPSTREAM: 'http://user:pw@127.0.0.1:8080' }, /UPSTREAM/],
    [{ UPSTREAM: 'unix:relative.sock' }, /UPSTREAM/],
    [{ UPSTREAM_TIMEOUT_MS: '0' }, /UPSTREAM_TIMEOUT_MS/],
    [{ UPSTREAM_TIMEOUT_MS: '1.5' }, /UPSTREAM_TIMEOUT_MS/],
    [{ MAX_PROXY_BODY_BYTES: '-1' }, /MAX_PROXY_BODY_BYTES/],
  ])('rejects %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('makes `hotcert serve` exit 2 with one line for a bad value or an unusable DATA_DIR', () => {
    const bad = runCli(['serve'], { PORT: 'nope' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/PORT/);

    const badUpstream = runCli(['serve'], { UPSTREAM: 'https://127.0.0.1:8443', PORT: '0' });
    expect(badUpstream.status).toBe(2);
    expect(badUpstream.stderr.trim().split('\n')).toHaveLength(1);
    expect(badUpstream.stderr).toMatch(/UPSTREAM/);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-file-'));
    try {
      const blocked = path.join(dir, 'not-a-dir');
      // A plain file where the data directory's parent should be: mkdir fails with ENOTDIR.
      writeFileSync(blocked, 'x');
      const res = runCli(['serve'], { DATA_DIR: path.join(blocked, 'data'), PORT: '0' });
      expect(res.status).toBe(2);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toContain(path.join(blocked, 'data'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

