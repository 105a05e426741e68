import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { postgresConnectionConfig } from '../../src/db/postgres/connection-config.js';
import { createRoot } from '../helpers/pki.js';

const key = randomBytes(32).toString('base64');
const dir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-dburl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ssl = (url: string) => postgresConnectionConfig(url).ssl;

describe('DATABASE_URL', () => {
  it('selects PostgreSQL only with MASTER_KEY; without DATABASE_URL nothing changes', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    const url = 'postgresql://hotcert:pw@db.internal:5432/hotcert';
    expect(loadConfig({ DATABASE_URL: url, MASTER_KEY: key }).databaseUrl).toBe(url);
    expect(() => loadConfig({ DATABASE_URL: url })).toThrow(new ConfigError('DATABASE_URL (PostgreSQL) needs MASTER_KEY or MASTER_KEY_FILE: every instance of the fleet must use the same key (openssl rand -base64 32)'));
  });

  it('refuses other schemes and unknown sslmodes in one line that never quotes the password', () => {
    for (const [url, message] of [
      ['mysql://u:secret-pw@h/db', 'DATABASE_URL must start with postgres:// or postgresql://, not mysql://'],
      ['not a url secret-pw', 'DATABASE_URL is not a valid URL (postgres://user:password@host:5432/database)'],
      ['postgres://u:secret-pw@h/db?sslmode=no-verify', 'DATABASE_URL sslmode must be one of disable, prefer, require, verify-ca, verify-full, got "no-verify"'],
      ['postgres://u:secret-pw@h/db?sslmode=verify-ca', 'DATABASE_URL sslmode=verify-ca needs sslrootcert=/path/to/ca.pem'],
    ]) {
      let error: unknown;
      try {
        loadConfig({ DATABASE_URL: url, MASTER_KEY: key });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(message);
      expect((error as Error).message).not.toContain('secret-pw');
    }
  });

  it('names an unreadable sslrootcert and why', () => {
    const missing = path.join(dir, 'missing-ca.pem');
    expect(() => loadConfig({ DATABASE_URL: `postgres://u:p@h/db?sslmode=verify-full&sslrootcert=${missing}`, MASTER_KEY: key })).toThrow(
      new ConfigError(`DATABASE_URL sslrootcert ${missing} cannot be read: no such file`),
    );
  });

  it('reads sslmode as libpq does: require encrypts without checking, verify-ca checks the CA only, verify-full checks the name too', async () => {
    const ca = await createRoot();
    const caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, ca.certPem);
    expect(ssl('postgres://u:p@h/db')).toBe(false);
    expect(ssl('postgres://u:p@h/db?sslmode=disable')).toBe(false);
    expect(ssl('postgres://u:p@h/db?sslmode=require')).toMatchObject({ rejectUnauthorized: false });
    // require with a root certificate behaves as verify-ca (libpq's rule).
    const requireWithCa = ssl(`postgres://u:p@h/db?sslmode=require&sslrootcert=${caFile}`) as { ca: string; rejectUnauthorized?: boolean; checkServerIdentity: () => undefined };
    expect(requireWithCa.ca).toBe(ca.certPem);
    expect(requireWithCa.rejectUnauthorized).not.toBe(false);
    expect(requireWithCa.checkServerIdentity()).toBeUndefined();
    const verifyCa = ssl(`postgres://u:p@h/db?sslmode=verify-ca&sslrootcert=${caFile}`) as { ca: string; rejectUnauthorized?: boolean; checkServerIdentity?: unknown };
    expect(verifyCa.ca).toBe(ca.certPem);
    expect(verifyCa.rejectUnauthorized).not.toBe(false);
    expect(typeof verifyCa.checkServerIdentity).toBe('function');
    const verifyFull = ssl(`postgres://u:p@h/db?sslmode=verify-full&sslrootcert=${caFile}`) as { ca: string; rejectUnauthorized?: boolean; checkServerIdentity?: unknown };
    expect(verifyFull.ca).toBe(ca.certPem);
    expect(verifyFull.rejectUnauthorized).not.toBe(false);
    expect(verifyFull.checkServerIdentity).toBeUndefined();
  });

  it('keeps the credentials, host, port and database of the URL', () => {
    expect(postgresConnectionConfig('postgres://fleet:p%40ss@db.internal:6543/certs')).toMatchObject({ user: 'fleet', password: 'p@ss', host: 'db.internal', port: 6543, database: 'certs' });
  });
});
