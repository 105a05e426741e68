import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { basic, bearer, request } from '../helpers/https-client.js';
import { runCli, spawnServer } from '../helpers/spawn-server.js';
import { startTestServer } from '../helpers/start-server.js';

const PASSWORD = 'Fr0m-The-File!';
const API_KEY = 'monitoring-key-first-boot';

async function until(probe: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!probe()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('safe first boot', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-first-boot-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads ADMIN_PASSWORD_FILE without its trailing line end, and refuses both, an unreadable file or a weak password', () => {
    const file = path.join(dir, 'password');
    writeFileSync(file, `${PASSWORD}\n`);
    expect(loadConfig({ ADMIN_PASSWORD_FILE: file }).adminPassword).toBe(PASSWORD);
    writeFileSync(file, `${PASSWORD}\r\n`);
    expect(loadConfig({ ADMIN_PASSWORD_FILE: file }).adminPassword).toBe(PASSWORD);
    expect(loadConfig({ ADMIN_PASSWORD: PASSWORD }).adminPassword).toBe(PASSWORD);
    expect(loadConfig({}).adminPassword).toBeUndefined();

    expect(() => loadConfig({ ADMIN_PASSWORD: PASSWORD, ADMIN_PASSWORD_FILE: file })).toThrow(ConfigError);
    expect(() => loadConfig({ ADMIN_PASSWORD: PASSWORD, ADMIN_PASSWORD_FILE: file })).toThrow(/not both/);
    expect(() => loadConfig({ ADMIN_PASSWORD_FILE: path.join(dir, 'absent') })).toThrow(/ADMIN_PASSWORD_FILE .*absent cannot be read: no such file/);
    expect(() => loadConfig({ ADMIN_PASSWORD: 'secret' })).toThrow(ConfigError);
    expect(() => loadConfig({ ADMIN_PASSWORD: 'secret' })).toThrow(/ADMIN_PASSWORD: the password must/);
    writeFileSync(file, 'alllowercase\n');
    expect(() => loadConfig({ ADMIN_PASSWORD_FILE: file })).toThrow(/ADMIN_PASSWORD_FILE: the password must .*upper-case/);
  });

  it('makes `hotcert serve` exit 2 with one line for both variables or a weak password, without quoting it', () => {
    const file = path.join(dir, 'both');
    writeFileSync(file, PASSWORD);
    const both = runCli(['serve'], { ADMIN_PASSWORD: PASSWORD, ADMIN_PASSWORD_FILE: file, DATA_DIR: path.join(dir, 'unused'), PORT: '0' });
    expect(both.status).toBe(2);
    expect(both.stderr.trim().split('\n')).toHaveLength(1);
    expect(both.stderr).toMatch(/ADMIN_PASSWORD or ADMIN_PASSWORD_FILE, not both/);

    const weak = runCli(['serve'], { ADMIN_PASSWORD: 'weak-password', DATA_DIR: path.join(dir, 'unused'), PORT: '0' });
    expect(weak.status).toBe(2);
    expect(weak.stderr.trim().split('\n')).toHaveLength(1);
    expect(weak.stderr).toMatch(/ADMIN_PASSWORD: the password must/);
    expect(weak.stderr).not.toContain('weak-password');
  });

  it('with ADMIN_PASSWORD_FILE, a fresh server never accepts admin/secret and accepts the file password without a forced change', async () => {
    const file = path.join(dir, 'admin-password');
    writeFileSync(file, `${PASSWORD}\n`);
    const dataDir = path.join(dir, 'with-file');
    const server = await spawnServer({ DATA_DIR: dataDir, ADMIN_PASSWORD_FILE: file, API_KEY });
    try {
      // The very first request after `listening`: there is no admin/secret window.
      const plain = await request(server.port, 'POST', '/v1/users/login', { headers: { Authorization: basic('admin', 'secret') } });
      expect(plain.status).toBe(401);
      const changing = await request(server.port, 'POST', '/v1/users/login', {
        headers: { Authorization: basic('admin', 'secret'), 'Content-Type': 'application/json' },
        body: JSON.stringify({ new_password: 'Hijacked-Passw0rd!' }),
      });
      expect(changing.status).toBe(401);

      const login = await request(server.port, 'POST', '/v1/users/login', { headers: { Authorization: basic('admin', PASSWORD) } });
      expect(login.status).toBe(200);
      const health = await request(server.port, 'GET', '/v1/health', { headers: bearer(login.json.users[0].token) });
      expect(health.status).toBe(200);
      expect(health.json.health.setup_required).toBe(false);
      expect(server.logs.some((entry) => entry.event === 'setup.required')).toBe(false);
      expect(JSON.stringify(server.logs)).not.toContain(PASSWORD);
    } finally {
      await server.stop();
    }
  });

  it('without it, admin/secret must be changed, /v1/health says setup_required and a warning is logged every interval until then', async () => {
    const server = await startTestServer({ env: { API_KEY }, start: { setupWarningIntervalMs: 50 } });
    try {
      const warnings = () => server.logs.filter((line) => JSON.parse(line).event === 'setup.required').length;
      await until(() => warnings() >= 3, 'three setup.required warnings');
      const warning = JSON.parse(server.logs.find((line) => JSON.parse(line).event === 'setup.required')!);
      expect(warning.level).toBe('warn');

      const before = await server.request('GET', '/v1/health', { headers: { Authorization: `Apikey ${API_KEY}` } });
      expect(before.status).toBe(200);
      expect(before.json.health.setup_required).toBe(true);
      const forced = await server.request('POST', '/v1/users/login', { headers: { Authorization: basic('admin', 'secret') } });
      expect(forced.json.errors[0].code).toBe(1024);

      const token = await server.adminToken();
      const after = await server.request('GET', '/v1/health', { headers: bearer(token) });
      expect(after.json.health.setup_required).toBe(false);
      const byKey = await server.request('GET', '/v1/health', { headers: { Authorization: `Apikey ${API_KEY}` } });
      expect(byKey.json.health.setup_required).toBe(false);

      // At most the tick already running when the password changed; none after it.
      const atChange = warnings();
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(warnings()).toBeLessThanOrEqual(atChange + 1);
    } finally {
      await server.close();
    }
  });
});
