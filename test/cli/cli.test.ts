import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer, peerCertificate, request } from '../helpers/https-client.js';
import { createChain, pemBundle, type TestChain, leafFingerprint as fp } from '../helpers/pki.js';
import { ROOT, runCli, spawnServer } from '../helpers/spawn-server.js';
import { startTestServer } from '../helpers/start-server.js';

// Every test runs the CLI as a process, several times; on a busy machine one start takes seconds. A safety net, not a budget.
describe('the hotcert command', { timeout: 120_000 }, () => {
  let dir: string;
  let files: string;
  let good: TestChain;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-cli-'));
    files = mkdtempSync(path.join(os.tmpdir(), 'hotcert-cli-files-'));
    good = await createChain();
    writeFileSync(path.join(files, 'good.pem'), good.bundle);
    writeFileSync(path.join(files, 'bad.pem'), pemBundle(good.leaf.keyPem, good.leaf.certPem));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(files, { recursive: true, force: true });
  });

  it('prints help and rejects unknown commands and missing files with exit code 2', () => {
    const help = runCli(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['serve', 'status', 'check [options] <file>', 'import [options] <file>', 'reset-certificate', 'reset-admin-password']) expect(help.stdout).toContain(command);
    expect(help.stdout).toMatch(/Exit codes:\n\s+0 +success\n\s+1 +the operation failed.*\n\s+2 +usage or configuration error/);
    expect(runCli(['frobnicate']).status).toBe(2);
    expect(runCli(['check']).status).toBe(2);
    expect(runCli(['check', path.join(files, 'missing.pem')]).status).toBe(2);
  });

  it('check validates exactly as the upload endpoint does: exit 0 / 1 and the report', () => {
    const ok = runCli(['check', path.join(files, 'good.pem')]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(fp(good));
    const bad = runCli(['check', path.join(files, 'bad.pem')]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/error \[chain-missing-intermediate\]/);
    expect(bad.stdout + bad.stderr).not.toContain(good.leaf.keyPem.split('\n')[1]);
    const json = runCli(['check', '--json', path.join(files, 'bad.pem')]);
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout).report.valid).toBe(false);
  });

  it('read-only commands (status, check) never create a data directory, a database or a key', () => {
    const missing = path.join(files, 'no-such-dir');
    const status = runCli(['status', '--data-dir', missing]);
    expect(status.status).toBe(2);
    expect(status.stderr.trim().split('\n')).toHaveLength(1);
    expect(status.stderr).toContain(`${missing} does not exist`);
    expect(existsSync(missing)).toBe(false);
    expect(runCli(['status', '--json'], { DATA_DIR: missing }).status).toBe(2);
    expect(existsSync(missing)).toBe(false);

    const empty = path.join(files, 'empty-dir');
    mkdirSync(empty);
    const noDb = runCli(['status', '--data-dir', empty]);
    expect(noDb.status).toBe(2);
    expect(noDb.stderr.trim().split('\n')).toHaveLength(1);
    expect(noDb.stderr).toMatch(/hotcert\.db/);
    expect(readdirSync(empty)).toEqual([]);

    expect(runCli(['check', path.join(files, 'good.pem'), '--data-dir', missing]).status).toBe(0);
    expect(existsSync(missing)).toBe(false);
  });

  it('works on a stopped server: import, status, reset-certificate', () => {
    const imported = runCli(['import', path.join(files, 'good.pem'), '--data-dir', dir]);
    expect(imported.status).toBe(0);
    expect(imported.stdout).toMatch(/version 1/);
    const status = runCli(['status', '--data-dir', dir]);
    expect(status.status).toBe(0);
    expect(status.stdout).toContain(fp(good));
    expect(status.stdout).toMatch(/source: import/);
    expect(status.stdout).toMatch(/sans:\s+localhost, 127\.0\.0\.1/);
    const json = JSON.parse(runCli(['status', '--json', '--data-dir', dir]).stdout);
    expect(json.certificate).toMatchObject({ version: 1, fingerprint_sha256: fp(good), source: 'import' });
    const rejected = runCli(['import', path.join(files, 'bad.pem'), '--data-dir', dir]);
    expect(rejected.status).toBe(1);
    expect(rejected.stdout).toMatch(/error \[chain-missing-intermediate\]/);
    expect(rejected.stderr).toMatch(/^hotcert: import refused: the bundle is invalid \(1 error\); nothing changed\n$/);
    const reset = runCli(['reset-certificate', '--data-dir', dir]);
    expect(reset.status).toBe(0);
    expect(JSON.parse(runCli(['status', '--json', '--data-dir', dir]).stdout).certificate).toMatchObject({ version: 2, source: 'default' });
  });

  it('changes a running server: import and reset-certificate are picked up and served; reset-admin-password forces a change', async () => {
    const server = await spawnServer({ DATA_DIR: dir });
    try {
      const imported = runCli(['import', path.join(files, 'good.pem'), '--data-dir', dir]);
      expect(imported.status).toBe(0);
      const synced = (fingerprint: string) => server.waitForLog((entry) => entry.event === 'certificate.activated' && entry.way === 'sync' && entry.fingerprint_sha256 === fingerprint);
      await synced(fp(good));
      expect((await peerCertificate(server.port)).fingerprint).toBe(fp(good));

      expect(runCli(['reset-certificate', '--data-dir', dir]).status).toBe(0);
      const status = JSON.parse(runCli(['status', '--json', '--data-dir', dir]).stdout);
      await synced(status.certificate.fingerprint_sha256);
      expect((await peerCertificate(server.port)).fingerprint).toBe(status.certificate.fingerprint_sha256);

      const reset = runCli(['reset-admin-password', '--data-dir', dir]);
      expect(reset.status).toBe(0);
      const password = /one-time password for admin: (\S+)/.exec(reset.stdout)![1]!;
      const plain = await request(server.port, 'POST', '/v1/users/login', { headers: { Authorization: basic('admin', password) } });
      expect(plain.status).toBe(400);
      expect(plain.json.errors[0].code).toBe(1024);
      const changed = await request(server.port, 'POST', '/v1/users/login', {
        headers: { Authorization: basic('admin', password), 'Content-Type': 'application/json' },
        body: JSON.stringify({ new_password: 'After-Reset-1!' }),
      });
      expect(changed.status).toBe(200);
      const audit = await request(server.port, 'GET', '/v1/audit?limit=50', { headers: bearer(changed.json.users[0].token) });
      const actions = audit.json.audit.filter((row: any) => row.actor === 'cli').map((row: any) => row.action);
      expect(actions).toEqual(expect.arrayContaining(['certificate.import', 'certificate.reset', 'user.password_reset']));
    } finally {
      await server.stop();
    }
  });
});

describe('the hotcert command line as an operator meets it', { timeout: 120_000 }, () => {
  let files: string;
  let good: TestChain;

  const oneLine = (stderr: string) => {
    expect(stderr.endsWith('\n')).toBe(true);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^hotcert: /);
    expect(stderr).not.toMatch(/\n\s+at |\bE[A-Z]{3,}\b/);
  };

  beforeAll(async () => {
    files = mkdtempSync(path.join(os.tmpdir(), 'hotcert-cli-ux-'));
    good = await createChain();
    writeFileSync(path.join(files, 'good.pem'), good.bundle);
    writeFileSync(path.join(files, 'bad.pem'), pemBundle(good.leaf.keyPem, good.leaf.certPem));
  });
  afterAll(() => rmSync(files, { recursive: true, force: true }));

  it('--version prints the package version', () => {
    const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
    for (const flag of ['--version', '-v']) {
      const res = runCli([flag]);
      expect(res.status).toBe(0);
      expect(res.stdout).toBe(`${version}\n`);
    }
  });

  it.each(['serve', 'status', 'check', 'import', 'reset-certificate', 'reset-admin-password'])('`hotcert %s --help` explains the command with examples', (command) => {
    for (const args of [[command, '--help'], ['help', command]]) {
      const res = runCli(args);
      expect(res.status).toBe(0);
      expect(res.stdout).toContain(`Usage: hotcert ${command}`);
      expect(res.stdout).toMatch(new RegExp(`Examples:\\n  \\$ hotcert ${command}\\b`));
      if (command !== 'serve') expect(res.stdout).toContain('--json');
    }
  });

  it('reports operator mistakes as one line without a stack or an error code, with exit code 2', () => {
    const missingFile = runCli(['check', path.join(files, 'bundle.pem')]);
    expect(missingFile.status).toBe(2);
    oneLine(missingFile.stderr);
    expect(missingFile.stderr).toBe(`hotcert: cannot read ${path.join(files, 'bundle.pem')}: no such file\n`);
    const directory = runCli(['import', files, '--data-dir', path.join(files, 'data')]);
    expect(directory.status).toBe(2);
    expect(directory.stderr).toBe(`hotcert: cannot read ${files}: it is a directory\n`);

    for (const args of [['frobnicate'], ['stauts'], [], ['check'], ['check', 'a.pem', 'b.pem'], ['status', '--bogus'], ['status', '--data-dir']]) {
      const res = runCli(args);
      expect(res.status, args.join(' ')).toBe(2);
      oneLine(res.stderr);
      expect(res.stdout).toBe('');
    }
    expect(runCli(['stauts']).stderr).toMatch(/unknown command 'stauts'.*Did you mean status\?/);

    const badEnv = runCli(['status', '--data-dir', path.join(files, 'data')], { MASTER_KEY: 'not-base64-of-32-bytes' });
    expect(badEnv.status).toBe(2);
    oneLine(badEnv.stderr);
    expect(badEnv.stderr).toMatch(/MASTER_KEY/);

    const blocked = path.join(files, 'good.pem', 'data');
    const badDir = runCli(['reset-certificate', '--data-dir', blocked]);
    expect(badDir.status).toBe(2);
    oneLine(badDir.stderr);
    expect(badDir.stderr).toContain(blocked);
  });

  it('check --json prints the report of the HTTP dry run, byte for byte the same object', async () => {
    const server = await startTestServer();
    try {
      const token = await server.adminToken();
      for (const name of ['good.pem', 'bad.pem']) {
        const bundle = readFileSync(path.join(files, name));
        const http = await server.upload(bundle, token, {}, '?dry_run=true');
        expect(http.status).toBe(200);
        const cli = runCli(['check', '--json', path.join(files, name)]);
        expect(cli.status).toBe(name === 'good.pem' ? 0 : 1);
        expect(cli.stderr).toBe('');
        expect(JSON.parse(cli.stdout)).toEqual({ report: http.json.report });
      }
    } finally {
      await server.close();
    }
  });

  it('import, status, reset-certificate and reset-admin-password --json print one JSON object each', () => {
    const dir = path.join(files, 'json-data');
    const rejected = runCli(['import', path.join(files, 'bad.pem'), '--json', '--data-dir', dir]);
    expect(rejected.status).toBe(1);
    const refusal = JSON.parse(rejected.stdout);
    expect(refusal.report).toMatchObject({ valid: false, errors: [{ rule: 'chain-missing-intermediate' }] });
    oneLine(rejected.stderr);

    const imported = runCli(['import', path.join(files, 'good.pem'), '--json', '--data-dir', dir]);
    expect(imported.status).toBe(0);
    const answer = JSON.parse(imported.stdout);
    expect(answer.report).toMatchObject({ valid: true, errors: [], certificate: { fingerprint_sha256: fp(good) } });
    expect(answer).toMatchObject({ changed: true, certificate: { version: 1, source: 'import', fingerprint_sha256: fp(good) } });
    const again = JSON.parse(runCli(['import', path.join(files, 'good.pem'), '--json', '--data-dir', dir]).stdout);
    expect(again).toMatchObject({ changed: false, certificate: { version: 1 } });
    expect(imported.stdout + imported.stderr).not.toContain(good.leaf.keyPem.split('\n')[1]);

    const status = runCli(['status', '--json', '--data-dir', dir]);
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ certificate: { version: 1, fingerprint_sha256: fp(good) }, health: { status: expect.any(String) } });

    const reset = runCli(['reset-certificate', '--json', '--data-dir', dir]);
    expect(reset.status).toBe(0);
    expect(JSON.parse(reset.stdout)).toMatchObject({ certificate: { version: 2, source: 'default' } });

    const password = runCli(['reset-admin-password', '--json', '--data-dir', dir]);
    expect(password.status).toBe(0);
    const parsed = JSON.parse(password.stdout);
    expect(parsed).toMatchObject({ username: 'admin', must_change_password: true });
    expect(parsed.password).toMatch(/^\S{12,}$/);
  });
});
