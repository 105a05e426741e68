import { readFileSync } from 'node:fs';
import { z } from 'zod';

export interface Config {
  port: number;
  host: string | undefined;
  dataDir: string;
  masterKey: Buffer | undefined;
  workers: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  maxUploadBytes: number;
  apiKey: string | undefined;
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
});

/** MASTER_KEY_FILE (the Docker secrets convention): the file holds what MASTER_KEY would; surrounding white space is ignored. */
function readMasterKeyFile(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`MASTER_KEY_FILE ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
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
  return {
    port: value.PORT,
    host: value.HOST,
    dataDir: value.DATA_DIR,
    masterKey,
    workers: value.WORKERS,
    logLevel: value.LOG_LEVEL,
    maxUploadBytes: value.MAX_UPLOAD_BYTES,
    apiKey: value.API_KEY,
  };
}
