import { parse, toClientConfig } from 'pg-connection-string';
import type { PoolConfig } from 'pg';
import { describeFsError } from '../../describe-fs-error.js';

/** A DATABASE_URL that cannot be used; the message never quotes the URL (it may hold the password). */
export class DatabaseUrlError extends Error {
  override name = 'DatabaseUrlError';
}

const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/**
 * DATABASE_URL read the way libpq users expect: node-postgres alone treats `sslmode=require` as
 * verify-full; libpq (and so psql) encrypts without checking the certificate, or checks only the CA when
 * `sslrootcert` is given. `sslrootcert`, `sslcert` and `sslkey` are files read here, once.
 */
export function postgresConnectionConfig(url: string): PoolConfig {
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw new DatabaseUrlError('DATABASE_URL is not a valid URL (postgres://user:password@host:5432/database)');
  }
  if (parsedUrl.protocol !== 'postgres:' && parsedUrl.protocol !== 'postgresql:') {
    throw new DatabaseUrlError(`DATABASE_URL must start with postgres:// or postgresql://, not ${parsedUrl.protocol}//`);
  }
  if (!parsedUrl.hostname) throw new DatabaseUrlError('DATABASE_URL names no host (postgres://user:password@host:5432/database)');
  const sslmode = parsedUrl.searchParams.get('sslmode');
  if (sslmode !== null && !(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw new DatabaseUrlError(`DATABASE_URL sslmode must be one of ${SSL_MODES.join(', ')}, got "${sslmode}"`);
  }
  if (sslmode === 'verify-ca' && !parsedUrl.searchParams.get('sslrootcert')) {
    throw new DatabaseUrlError('DATABASE_URL sslmode=verify-ca needs sslrootcert=/path/to/ca.pem');
  }
  for (const name of ['sslrootcert', 'sslcert', 'sslkey']) {
    const file = parsedUrl.searchParams.get(name);
    if (file === null) continue;
    try {
      // Checked here so the error names the parameter and the reason, and never the whole URL.
      parse(`postgres://localhost/?${name}=${encodeURIComponent(file)}`);
    } catch (error) {
      throw new DatabaseUrlError(`DATABASE_URL ${name} ${file} cannot be read: ${describeFsError(error)}`);
    }
  }
  let options;
  try {
    options = parse(url, { useLibpqCompat: true });
  } catch {
    throw new DatabaseUrlError('DATABASE_URL cannot be parsed (postgres://user:password@host:5432/database?sslmode=require)');
  }
  if (sslmode === 'disable' || sslmode === null) options.ssl = false;
  return toClientConfig(options) as PoolConfig;
}
