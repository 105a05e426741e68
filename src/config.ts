import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AcmeConfigError, acmeInputFromEnv, envNames, parseAcmeSettings, type AcmeConfig } from './acme/acme-config.js';
import { DatabaseUrlError, postgresConnectionConfig } from './db/postgres/connection-config.js';
import { describeFsError } from './describe-fs-error.js';
import { TLS_PROFILES, type TlsProfile } from './tls/tls-profile.js';
import { initialAdminPassword, InitialAdminPasswordError } from './users/initial-admin-password.js';

export interface Config {
  port: number;
  host: string | undefined;
  dataDir: string;
  masterKey: Buffer | undefined;
  workers: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  maxUploadBytes: number;
  apiKey: string | undefined;
  handshakeTimeoutMs: number;
  maxConnectionsPerClient: number;
  tlsProfile: TlsProfile;
  /** ADMIN_PASSWORD / ADMIN_PASSWORD_FILE: the admin's password when the admin user is first created. */
  adminPassword: string | undefined;
  /** Where requests for paths that are not hotcert's own go (reverse proxy mode); absent: they get 404. */
  upstream: Upstream | undefined;
  upstreamTimeoutMs: number;
  /** Largest request body forwarded to the upstream; undefined means no limit. */
  maxProxyBodyBytes: number | undefined;
  /** ACME_*: certificates from an ACME CA (src/acme/); undefined when ACME_DIRECTORY_URL is not set. */
  acme: AcmeConfig | undefined;
  /** DATABASE_URL: a PostgreSQL server shared by a fleet of instances; undefined means SQLite in DATA_DIR. */
  databaseUrl: string | undefined;
}

/** A plain-HTTP upstream on a host and port, or on a unix socket. */
export type Upstream = { kind: 'tcp'; host: string; port: number; label: string } | { kind: 'unix'; socketPath: string; label: string };

/** `http://host[:port][/]` or `unix:/absolute/path.sock`; anything else is refused with the reason. */
function parseUpstream(value: string): Upstream | string {
  if (value.startsWith('unix:')) {
    const socketPath = value.slice('unix:'.length);
    if (!socketPath.startsWith('/')) return `UPSTREAM unix: needs an absolute socket path (unix:/run/app.sock), got "${value}"`;
    return { kind: 'unix', socketPath, label: value };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `UPSTREAM must be a URL like http://127.0.0.1:8080 or unix:/path.sock, got "${value}"`;
  }
  if (url.protocol !== 'http:') return `UPSTREAM scheme ${url.protocol} is not supported; use http://host:port or unix:/path.sock`;
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) {
    return `UPSTREAM must be only http://host:port, without credentials, path, query or fragment, got "${value}"`;
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? 80 : Number(url.port);
  return { kind: 'tcp', host, port, label: `http://${url.host}` };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const integer = (name: string, min: number, max: number, fallback: number) =>
  optionalString.transform((value, ctx) => {
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
      ctx.addIssue({ code: 'custom', message: `${name} must be a whole number from ${min} to ${max}, got "${value}"` });
      return z.NEVER;
    }
    return parsed;
  });

const envSchema = z.object({
  PORT: integer('PORT', 0, 65535, 9090),
  HOST: optionalString,
  DATA_DIR: optionalString.transform((value) => value ?? './data'),
  MASTER_KEY: optionalString.transform((value, ctx) => {
    if (value === undefined) return undefined;
    const key = Buffer.from(value, 'base64');
    if (key.length !== 32 || key.toString('base64') !== value.replace(/\s+/g, '')) {
      ctx.addIssue({ code: 'custom', message: 'MASTER_KEY must be the base64 encoding of exactly 32 bytes (openssl rand -base64 32)' });
      return z.NEVER;
    }
    return key;
  }),
  MASTER_KEY_FILE: optionalString,
  WORKERS: integer('WORKERS', 1, 64, 1),
  LOG_LEVEL: optionalString.transform((value, ctx) => {
    const level = (value ?? 'info').toLowerCase();
    const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
    const found = levels.find((candidate) => candidate === level);
    if (!found) {
      ctx.addIssue({ code: 'custom', message: `LOG_LEVEL must be one of ${levels.join(', ')}, got "${value}"` });
      return z.NEVER;
    }
    return found;
  }),
  MAX_UPLOAD_BYTES: integer('MAX_UPLOAD_BYTES', 1024, 64 * 1024 * 1024, 1_048_576),
  API_KEY: optionalString.transform((value, ctx) => {
    if (value !== undefined && (value.length < 12 || value.length > 128)) {
      ctx.addIssue({ code: 'custom', message: 'API_KEY must be 12 to 128 characters long' });
      return z.NEVER;
    }
    return value;
  }),
  HANDSHAKE_TIMEOUT_MS: integer('HANDSHAKE_TIMEOUT_MS', 100, 120_000, 10_000),
  MAX_CONNECTIONS_PER_CLIENT: integer('MAX_CONNECTIONS_PER_CLIENT', 1, 100_000, 256),
  TLS_PROFILE: optionalString.transform((value, ctx) => {
    const profile = TLS_PROFILES.find((candidate) => candidate === (value ?? 'intermediate').toLowerCase());
    if (!profile) {
      ctx.addIssue({ code: 'custom', message: `TLS_PROFILE must be one of ${TLS_PROFILES.join(', ')}, got "${value}"` });
      return z.NEVER;
    }
    return profile;
  }),
  UPSTREAM: optionalString.transform((value, ctx) => {
    if (value === undefined) return undefined;
    const upstream = parseUpstream(value);
    if (typeof upstream === 'string') {
      ctx.addIssue({ code: 'custom', message: upstream });
      return z.NEVER;
    }
    return upstream;
  }),
  UPSTREAM_TIMEOUT_MS: integer('UPSTREAM_TIMEOUT_MS', 1, 24 * 60 * 60 * 1000, 60_000),
  MAX_PROXY_BODY_BYTES: integer('MAX_PROXY_BODY_BYTES', 0, Number.MAX_SAFE_INTEGER, -1),
  DATABASE_URL: optionalString,
});

/** MASTER_KEY_FILE (the Docker secrets convention): the file holds what MASTER_KEY would; surrounding white space is ignored. */
function readMasterKeyFile(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`MASTER_KEY_FILE ${file} cannot be read: ${describeFsError(error)}`);
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32 || key.toString('base64') !== text) {
    throw new ConfigError(`MASTER_KEY_FILE ${file} must hold the base64 encoding of exactly 32 bytes (openssl rand -base64 32)`);
  }
  return key;
}

/** Reads the environment variables of SPEC §2 (and the file MASTER_KEY_FILE names) and explains the first bad one. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => issue.message).join('; '));
  }
  const value = parsed.data;
  if (value.MASTER_KEY_FILE !== undefined && env.MASTER_KEY?.trim()) throw new ConfigError('set MASTER_KEY or MASTER_KEY_FILE, not both');
  const masterKey = value.MASTER_KEY_FILE === undefined ? value.MASTER_KEY : readMasterKeyFile(value.MASTER_KEY_FILE);
  if (value.DATABASE_URL !== undefined) {
    try {
      // Checked now (scheme, sslmode, certificate files), so a bad URL is one line at start, not a failed connection later.
      postgresConnectionConfig(value.DATABASE_URL);
    } catch (error) {
      if (error instanceof DatabaseUrlError) throw new ConfigError(error.message);
      throw error;
    }
    if (!masterKey) {
      throw new ConfigError('DATABASE_URL (PostgreSQL) needs MASTER_KEY or MASTER_KEY_FILE: every instance of the fleet must use the same key (openssl rand -base64 32)');
    }
  }
  let adminPassword: string | undefined;
  try {
    adminPassword = initialAdminPassword(env);
  } catch (error) {
    if (error instanceof InitialAdminPasswordError) throw new ConfigError(error.message);
    throw error;
  }
  let acme: AcmeConfig | undefined;
  try {
    const input = acmeInputFromEnv(env);
    acme = input && parseAcmeSettings(input, envNames);
  } catch (error) {
    if (error instanceof AcmeConfigError) throw new ConfigError(error.message);
    throw error;
  }
  return {
    port: value.PORT,
    host: value.HOST,
    dataDir: value.DATA_DIR,
    masterKey,
    workers: value.WORKERS,
    logLevel: value.LOG_LEVEL,
    maxUploadBytes: value.MAX_UPLOAD_BYTES,
    apiKey: value.API_KEY,
    handshakeTimeoutMs: value.HANDSHAKE_TIMEOUT_MS,
    maxConnectionsPerClient: value.MAX_CONNECTIONS_PER_CLIENT,
    tlsProfile: value.TLS_PROFILE,
    adminPassword,
    upstream: value.UPSTREAM,
    upstreamTimeoutMs: value.UPSTREAM_TIMEOUT_MS,
    maxProxyBodyBytes: value.MAX_PROXY_BODY_BYTES < 0 ? undefined : value.MAX_PROXY_BODY_BYTES,
    acme,
    databaseUrl: value.DATABASE_URL,
  };
}
