import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresBackend } from '../../src/db/postgres/open-postgres.js';
import { createChain, createRoot } from '../helpers/pki.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

/**
 * DATABASE_URL's sslmode against a real PostgreSQL serving TLS with a certificate for db.example (not for
 * 127.0.0.1, where the tests connect): the libpq meanings, not node-postgres' own.
 */
describe('sslmode against a PostgreSQL server with TLS', () => {
  let server: TestPostgres;
  let dir: string;
  let caFile: string;
  let otherCaFile: string;
  let url: URL;
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-pg-tls-'));
    const [chain, other] = await Promise.all([createChain({ intermediates: 0, sans: ['db.example'] }), createRoot()]);
    const files = { cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') };
    writeFileSync(files.cert, chain.leaf.certPem);
    writeFileSync(files.key, chain.leaf.keyPem, { mode: 0o600 });
    caFile = path.join(dir, 'ca.pem');
    otherCaFile = path.join(dir, 'other-ca.pem');
    writeFileSync(caFile, chain.root.certPem);
    writeFileSync(otherCaFile, other.certPem);
    if (process.getuid?.() === 0) {
      // As root the server runs as the unprivileged postgres user, which must own its key (PostgreSQL insists on 0600).
      const pgUser = { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) };
      chmodSync(dir, 0o755);
      chownSync(files.key, pgUser.uid, pgUser.gid);
      chownSync(files.cert, pgUser.uid, pgUser.gid);
    }
    server = await startPostgres({ flags: ['-c', 'ssl=on', '-c', `ssl_cert_file=${files.cert}`, '-c', `ssl_key_file=${files.key}`] });
    url = new URL(await server.createDatabase());
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Connects with these URL parameters and says whether the session is encrypted, or why it failed. */
  async function connectWith(params: Record<string, string>): Promise<{ ssl: boolean } | { error: string }> {
    const target = new URL(url);
    for (const [name, value] of Object.entries(params)) target.searchParams.set(name, value);
    const backend = openPostgresBackend(target.toString(), { clock: Date.now, logger });
    try {
      await backend.ready();
      const { rows } = await backend.pool.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      return { ssl: (rows[0] as { ssl: boolean }).ssl };
    } catch (error) {
      return { error: (error as Error).message };
    } finally {
      await backend.close();
    }
  }

  it('no sslmode and disable: plain; require: encrypted without checking the certificate', async () => {
    expect(await connectWith({})).toEqual({ ssl: false });
    expect(await connectWith({ sslmode: 'disable' })).toEqual({ ssl: false });
    expect(await connectWith({ sslmode: 'require' })).toEqual({ ssl: true });
  });

  it('verify-ca checks the chain but not the name; verify-full checks both', async () => {
    expect(await connectWith({ sslmode: 'verify-ca', sslrootcert: caFile })).toEqual({ ssl: true });
    expect(await connectWith({ sslmode: 'require', sslrootcert: caFile })).toEqual({ ssl: true });
    const wrongCa = await connectWith({ sslmode: 'verify-ca', sslrootcert: otherCaFile });
    expect(wrongCa).toHaveProperty('error');
    expect((wrongCa as { error: string }).error).toMatch(/^the PostgreSQL server's TLS certificate is not accepted under this sslmode \(/);
    const wrongName = await connectWith({ sslmode: 'verify-full', sslrootcert: caFile });
    expect(wrongName).toEqual({ error: "the PostgreSQL server's TLS certificate is not accepted under this sslmode (ERR_TLS_CERT_ALTNAME_INVALID)" });
  });
});
