import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, basic, bearer, peerCertificate, request } from '../helpers/https-client.js';
import { createChain, type TestChain, leafFingerprint as fp } from '../helpers/pki.js';
import { spawnServer } from '../helpers/spawn-server.js';
import { ADMIN_PASSWORD, startTestServer } from '../helpers/start-server.js';

/**
 * A real, small file system (tmpfs) for the data directory, filled with real files until the kernel says
 * ENOSPC: SQLite then fails exactly as on a full disk in production. `PRAGMA max_page_count` would only
 * imitate SQLITE_FULL and never exercise the errno path, the probe or statfs. Needs root (mount).
 */
function mountSmallFileSystem(sizeKb: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`this test needs root and "mount -t tmpfs" (util-linux mount) to make a real small file system: ${(error as Error).message}`);
  }
  return dir;
}

/** Fills the file system: one large file, then 4 KiB files, each until ENOSPC. Returns the small ones. */
function fill(dir: string): string[] {
  const write = (file: string, chunk: Buffer) => {
    const fd = openSync(file, 'w');
    try {
      for (let i = 0; i < 100_000; i++) writeSync(fd, chunk);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      return false;
    } finally {
      closeSync(fd);
    }
    return true;
  };
  const big = path.join(dir, `filler-big-${Date.now()}`);
  write(big, Buffer.alloc(64 * 1024, 1));
  // Give 64 KiB back, to be taken again in 4 KiB files that can be freed one page at a time.
  truncateSync(big, Math.max(0, statSync(big).size - 64 * 1024));
  const small: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const file = path.join(dir, `filler-${Date.now()}-${i}`);
    small.push(file);
    const fd = openSync(file, 'w');
    try {
      writeSync(fd, Buffer.alloc(4096, 1));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      closeSync(fd);
      unlinkSync(file);
      small.pop();
      return small;
    }
    closeSync(fd);
  }
  throw new Error('the file system did not fill up');
}

function emptyFillers(dir: string): void {
  for (const name of readdirSync(dir)) if (name.startsWith('filler')) unlinkSync(path.join(dir, name));
}

function integrity(dir: string): string {
  const db = new Database(path.join(dir, 'hotcert.db'), { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

describe('a full data directory (real tmpfs, real ENOSPC, real process)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mountSmallFileSystem(6 * 1024);
  });
  afterAll(() => {
    try {
      execFileSync('umount', [dir]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers 507 naming the directory, says so in health and metrics, logs once, keeps serving, boots, and recovers', async () => {
    const [first, second, third] = await Promise.all([createChain(), createChain(), createChain()]);
    let server = await spawnServer({ DATA_DIR: dir });
    try {
      const login = (password: string) => request(server.port, 'POST', '/v1/users/login', { headers: { Authorization: basic('admin', password) } });
      const token = await adminToken(server.port);
      const upload = (chain: TestChain) =>
        request(server.port, 'POST', '/v1/certificates/external', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body: chain.bundle });
      const health = async () => (await request(server.port, 'GET', '/v1/health', { headers: bearer(token) })).json.health;
      expect((await upload(first)).status).toBe(201);
      expect(await health()).toMatchObject({ webapp_status: 'ok', storage: 'ok' });

      // Full but for one page: the up-front check passes, SQLite's commit on the writer thread fails (SQLITE_FULL).
      const small = fill(dir);
      unlinkSync(small.pop()!);
      const refused = await upload(second);
      expect(refused.status).toBe(507);
      expect(refused.json.errors).toHaveLength(1);
      expect(refused.json.errors[0].details).toContain(dir);
      expect(refused.json.errors[0].details).toMatch(/full/);
      expect(refused.json.meta).toBeDefined();

      // Completely full: logins too; health says so; the served certificate stays.
      fill(dir);
      const loginRefused = await login(ADMIN_PASSWORD);
      expect(loginRefused.status).toBe(507);
      expect(loginRefused.json.errors[0].details).toContain(dir);
      expect((await upload(second)).status).toBe(507);
      expect(await health()).toMatchObject({ webapp_status: 'degraded', storage: 'full', certificate: { status: 'ok', fingerprint_sha256: fp(first) } });
      expect((await peerCertificate(server.port)).fingerprint).toBe(fp(first));
      const metrics = await request(server.port, 'GET', '/v1/metrics?format=prometheus', { headers: bearer(token) });
      expect(metrics.text).toMatch(/^hotcert_storage_problem\{problem="full"\} 1$/m);
      // Four refusals within a minute, one log line.
      const logged = server.logs.filter((entry) => entry.event === 'storage.unavailable');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ data_dir: dir, problem: 'full' });
      expect(server.logs.some((entry) => entry.event === 'http.internal_error')).toBe(false);

      // Space freed: recovers by itself.
      emptyFillers(dir);
      expect(await health()).toMatchObject({ webapp_status: 'ok', storage: 'ok' });
      expect((await upload(second)).status).toBe(201);
      expect((await peerCertificate(server.port)).fingerprint).toBe(fp(second));
      expect((await login(ADMIN_PASSWORD)).status).toBe(200);
      const after = await request(server.port, 'GET', '/v1/metrics?format=prometheus', { headers: bearer(token) });
      expect(after.text).not.toMatch(/^hotcert_storage_problem\{/m);
      expect(server.logs.some((entry) => entry.event === 'storage.recovered')).toBe(true);
      // The disk is still full when the server dies (SIGKILL: a crash, an OOM kill, a container restart) …
      fill(dir);
    } finally {
      await server.stop('SIGKILL');
    }

    // … and it boots on the full disk and serves what was active; recovers once space is freed; the database stays intact.
    server = await spawnServer({ DATA_DIR: dir });
    try {
      expect((await peerCertificate(server.port)).fingerprint).toBe(fp(second));
      const login = await request(server.port, 'POST', '/v1/users/login', { headers: { Authorization: basic('admin', ADMIN_PASSWORD) } });
      expect(login.status).toBe(507);
      emptyFillers(dir);
      const token = (await request(server.port, 'POST', '/v1/users/login', { headers: { Authorization: basic('admin', ADMIN_PASSWORD) } })).json.users[0].token;
      const res = await request(server.port, 'POST', '/v1/certificates/external', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body: third.bundle });
      expect(res.status).toBe(201);
    } finally {
      await server.stop();
    }
    expect(integrity(dir)).toBe('ok');
  });
});

describe('a vanished data directory', () => {
  it('answers 507 naming it and shows it in health, while the certificate keeps being served', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-vanish-'));
    const server = await startTestServer({ dataDir });
    try {
      const token = await server.adminToken();
      const served = (await peerCertificate(server.port)).fingerprint;
      rmSync(dataDir, { recursive: true, force: true });
      const res = await server.upload((await createChain()).bundle, token);
      expect(res.status).toBe(507);
      expect(res.json.errors[0].details).toContain(dataDir);
      expect(res.json.errors[0].details).toMatch(/vanished/);
      const health = (await server.request('GET', '/v1/health', { headers: bearer(token) })).json.health;
      expect(health).toMatchObject({ webapp_status: 'degraded', storage: 'missing' });
      expect((await peerCertificate(server.port)).fingerprint).toBe(served);
      expect(server.logs.filter((line) => line.includes('"event":"storage.unavailable"'))).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

/**
 * A file system the kernel turns read-only under the running server, as ext4 does on an I/O error with
 * errors=remount-ro (the usual way a data directory becomes read-only in production; a plain
 * `mount -o remount,ro` is refused while files are open for writing). Needs root, e2fsprogs and loop devices.
 */
describe('a data directory whose file system turns read-only under the server (ext4 errors=remount-ro)', () => {
  let image: string;
  let dir: string;
  beforeAll(() => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'hotcert-ro-'));
    image = path.join(work, 'fs.img');
    dir = path.join(work, 'data');
    try {
      execFileSync('truncate', ['-s', '16M', image]);
      execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'pipe' });
      mkdirSync(dir);
      execFileSync('mount', ['-o', 'loop,errors=remount-ro', image, dir], { stdio: 'pipe' });
    } catch (error) {
      throw new Error(`this test needs root, mkfs.ext4 (Debian package e2fsprogs) and loop devices: ${(error as Error).message}`);
    }
  });
  afterAll(() => {
    try {
      execFileSync('umount', ['-l', dir]);
    } finally {
      rmSync(path.dirname(image), { recursive: true, force: true });
    }
  });

  it('answers 507 naming the directory, shows read_only in health and metrics, and keeps serving', async () => {
    const [first, second] = await Promise.all([createChain(), createChain()]);
    const server = await spawnServer({ DATA_DIR: dir });
    try {
      const token = await adminToken(server.port);
      const upload = (chain: TestChain) =>
        request(server.port, 'POST', '/v1/certificates/external', { headers: { ...bearer(token), 'Content-Type': 'text/plain' }, body: chain.bundle });
      expect((await upload(first)).status).toBe(201);

      const device = path.basename(execFileSync('findmnt', ['-n', '-o', 'SOURCE', dir], { encoding: 'utf8' }).trim());
      writeFileSync(`/sys/fs/ext4/${device}/trigger_fs_error`, '1');

      const refused = await upload(second);
      expect(refused.status).toBe(507);
      expect(refused.json.errors[0].details).toContain(dir);
      expect(refused.json.errors[0].details).toMatch(/read-only/);
      expect((await request(server.port, 'POST', '/v1/users/login', { headers: { Authorization: basic('admin', ADMIN_PASSWORD) } })).status).toBe(507);
      const health = (await request(server.port, 'GET', '/v1/health', { headers: bearer(token) })).json.health;
      expect(health).toMatchObject({ webapp_status: 'degraded', storage: 'read_only', certificate: { status: 'ok', fingerprint_sha256: fp(first) } });
      expect((await peerCertificate(server.port)).fingerprint).toBe(fp(first));
      const metrics = await request(server.port, 'GET', '/v1/metrics?format=prometheus', { headers: bearer(token) });
      expect(metrics.text).toMatch(/^hotcert_storage_problem\{problem="read_only"\} 1$/m);
      expect(server.logs.filter((entry) => entry.event === 'storage.unavailable')).toHaveLength(1);
    } finally {
      await server.stop('SIGKILL');
    }
  });
});
