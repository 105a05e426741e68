import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { describeFsError } from '../describe-fs-error.js';

export const ACME_KEY_TYPES = ['ec-p256', 'rsa-2048'] as const;
export type AcmeKeyType = (typeof ACME_KEY_TYPES)[number];

/** Where ACME settings came from: the environment, or an admin through the API (stored, wins over env). */
export type AcmeConfigOrigin = 'env' | 'api';

/** What the operator chose; the CA file's content is read once, so later checks never touch the disk. */
export interface AcmeSettings {
  directoryUrl: string;
  email: string | undefined;
  domains: string[];
  /** Path of a PEM file with the CA(s) that sign the ACME server's TLS certificate (a private ACME server). */
  directoryCaFile: string | undefined;
  eabKid: string | undefined;
  eabHmacKey: string | undefined;
  keyType: AcmeKeyType;
  /** Plain-HTTP port for HTTP-01; absent: TLS-ALPN-01 on hotcert's own port. */
  httpPort: number | undefined;
}

export interface AcmeConfig extends AcmeSettings {
  directoryCaPem: string | undefined;
}

/** The raw values, as variables or as the API's JSON fields, before they are checked. */
export interface AcmeInput {
  directory_url?: string | undefined;
  email?: string | undefined;
  domains?: string[] | string | undefined;
  directory_ca_file?: string | undefined;
  eab_kid?: string | undefined;
  eab_hmac_key?: string | undefined;
  key_type?: string | undefined;
  http_port?: number | string | undefined;
}

export class AcmeConfigError extends Error {
  override name = 'AcmeConfigError';
}

const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const EMAIL = /^[^\s@<>()]+@[^\s@<>()]+\.[^\s@<>()]+$/;

const blank = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

/** The ACME_* variables: undefined when ACME_DIRECTORY_URL is not set (then no other ACME_* may be). */
export function acmeInputFromEnv(env: Record<string, string | undefined>): AcmeInput | undefined {
  const input: AcmeInput = {
    directory_url: blank(env.ACME_DIRECTORY_URL),
    email: blank(env.ACME_EMAIL),
    domains: blank(env.ACME_DOMAINS),
    directory_ca_file: blank(env.ACME_DIRECTORY_CA_FILE),
    eab_kid: blank(env.ACME_EAB_KID),
    eab_hmac_key: blank(env.ACME_EAB_HMAC_KEY),
    key_type: blank(env.ACME_KEY_TYPE),
    http_port: blank(env.ACME_HTTP_PORT),
  };
  if (input.directory_url === undefined) {
    const stray = Object.keys(env).filter((name) => name.startsWith('ACME_') && blank(env[name]) !== undefined);
    if (stray.length > 0) throw new AcmeConfigError(`${stray.sort().join(', ')} set without ACME_DIRECTORY_URL; set ACME_DIRECTORY_URL too, or unset them`);
    return undefined;
  }
  return input;
}

/**
 * Checks ACME settings, from the environment or the API, and names the first problem with the
 * variable's name (`names` maps field to what the operator typed: ACME_EMAIL or email).
 */
export function parseAcmeSettings(input: AcmeInput, names: (field: keyof AcmeInput) => string): AcmeConfig {
  const fail = (field: keyof AcmeInput, message: string): never => {
    throw new AcmeConfigError(`${names(field)} ${message}`);
  };
  const directory = blank(input.directory_url) ?? fail('directory_url', 'is required: the ACME directory URL, like https://acme-v02.api.letsencrypt.org/directory');
  let url: URL;
  try {
    url = new URL(directory);
  } catch {
    return fail('directory_url', `must be an https:// URL, got "${directory}"`);
  }
  if (url.protocol !== 'https:' || url.username || url.password) fail('directory_url', `must be an https:// URL without credentials, got "${directory}"`);

  const email = blank(input.email);
  if (email !== undefined && !EMAIL.test(email)) fail('email', `must be an e-mail address, got "${email}"`);

  const rawDomains = Array.isArray(input.domains) ? input.domains : (input.domains ?? '').split(',');
  const domains = rawDomains.map((name) => (typeof name === 'string' ? name.trim().toLowerCase().replace(/\.$/, '') : '')).filter((name) => name !== '');
  if (domains.length === 0) fail('domains', 'must name at least one DNS name (comma-separated in ACME_DOMAINS)');
  if (domains.length > 100) fail('domains', 'may name at most 100 DNS names');
  for (const name of domains) {
    if (isIP(name) !== 0) fail('domains', `holds the IP address "${name}": ACME certificates here are for DNS names`);
    if (name.length > 253 || !DNS_NAME.test(name)) fail('domains', `holds "${name}", which is not a DNS name`);
    if (name.startsWith('*.')) fail('domains', `holds the wildcard "${name}": wildcards need DNS-01, which hotcert does not answer`);
  }
  if (new Set(domains).size !== domains.length) fail('domains', 'names a domain twice');

  const keyType = (blank(input.key_type) ?? 'ec-p256').toLowerCase();
  const foundKeyType = ACME_KEY_TYPES.find((candidate) => candidate === keyType) ?? fail('key_type', `must be one of ${ACME_KEY_TYPES.join(', ')}, got "${input.key_type}"`);

  let httpPort: number | undefined;
  const rawPort = typeof input.http_port === 'number' ? String(input.http_port) : blank(input.http_port);
  if (rawPort !== undefined) {
    httpPort = Number(rawPort);
    if (!/^\d+$/.test(rawPort) || httpPort < 1 || httpPort > 65535) fail('http_port', `must be a whole number from 1 to 65535, got "${rawPort}"`);
  }

  const eabKid = blank(input.eab_kid);
  const eabHmacKey = blank(input.eab_hmac_key);
  if ((eabKid === undefined) !== (eabHmacKey === undefined)) fail(eabKid === undefined ? 'eab_kid' : 'eab_hmac_key', 'must be set together with the other external account binding value');
  if (eabHmacKey !== undefined && !/^[A-Za-z0-9_-]+={0,2}$/.test(eabHmacKey)) fail('eab_hmac_key', 'must be the base64url HMAC key the CA gave');

  const directoryCaFile = blank(input.directory_ca_file);
  let directoryCaPem: string | undefined;
  if (directoryCaFile !== undefined) {
    try {
      directoryCaPem = readFileSync(directoryCaFile, 'utf8');
    } catch (error) {
      return fail('directory_ca_file', `${directoryCaFile} cannot be read: ${describeFsError(error)}`);
    }
    if (!directoryCaPem.includes('-----BEGIN CERTIFICATE-----')) fail('directory_ca_file', `${directoryCaFile} holds no PEM certificate`);
  }

  return { directoryUrl: url.href, email, domains, directoryCaFile, directoryCaPem, eabKid, eabHmacKey, keyType: foundKeyType, httpPort };
}

/** Variable names for messages about the environment. */
export const envNames = (field: keyof AcmeInput) => `ACME_${field.toUpperCase()}`;

/** What GET shows: never the HMAC key. */
export function publicSettings(config: AcmeConfig) {
  return {
    directory_url: config.directoryUrl,
    email: config.email ?? null,
    domains: config.domains,
    directory_ca_file: config.directoryCaFile ?? null,
    eab_kid: config.eabKid ?? null,
    eab_hmac_key_set: config.eabHmacKey !== undefined,
    key_type: config.keyType,
    http_port: config.httpPort ?? null,
    challenge: challengeOf(config),
  };
}

/** HTTP-01 when the operator opened a plain-HTTP port for it, TLS-ALPN-01 on hotcert's own port otherwise. */
export function challengeOf(config: Pick<AcmeSettings, 'httpPort'>): 'http-01' | 'tls-alpn-01' {
  return config.httpPort === undefined ? 'tls-alpn-01' : 'http-01';
}
