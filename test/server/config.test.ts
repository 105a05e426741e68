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
    });
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
  ])('rejects %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('makes `hotcert serve` exit 2 with one line for a bad value or an unusable DATA_DIR', () => {
    const bad = runCli(['serve'], { PORT: 'nope' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/PORT/);

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

