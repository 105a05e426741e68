#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { DataDirError, openServices, type Services } from '../hotcert.js';
import { ApiError } from '../http/errors.js';
import { serveMain } from '../main.js';
import { createLogger } from '../observability/logger.js';
import { certificateName } from '../validation/describe-certificate.js';
import validateInThread from '../workers/validate-worker.js';
import { formatReport, formatStatus } from './format.js';

const USAGE = `Usage: hotcert <command> [--data-dir DIR]

Commands:
  serve                   run the HTTPS server (what npm start runs)
  status                  show the active certificate
  check FILE              validate a PEM bundle exactly as the upload endpoint does (exit 0 valid, 1 invalid)
  import FILE             validate and activate a PEM bundle (a running server picks it up within 1 s)
  reset-certificate       activate a fresh self-signed certificate (the recovery for everything)
  reset-admin-password    print a one-time admin password; the next login must change it

Options:
  --data-dir DIR          data directory (default: $DATA_DIR or ./data)
  --json                  machine-readable output (status, check)
  -h, --help              this text

Exit codes: 0 success, 1 the operation failed (e.g. an invalid bundle), 2 usage or configuration error.
`;

function usageError(message: string): never {
  process.stderr.write(`hotcert: ${message}\n\n${USAGE}`);
  process.exit(2);
}

async function withServices<T>(dataDir: string | undefined, run: (services: Services) => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) usageError(error.message);
    throw error;
  }
  const logger = createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn', undefined);
  let services: Services;
  try {
    services = openServices({ ...config, dataDir: dataDir ?? config.dataDir }, { logger, validation: 'inline', processMetrics: false, readOnly: options.readOnly });
  } catch (error) {
    if (error instanceof DataDirError) {
      process.stderr.write(`hotcert: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  try {
    return await run(services);
  } finally {
    await services.close();
  }
}

function readBundle(file: string | undefined): Buffer {
  if (!file) usageError('FILE is required');
  try {
    return readFileSync(file);
  } catch (error) {
    process.stderr.write(`hotcert: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}\n`);
    process.exit(2);
  }
}

function explain(error: unknown): never {
  if (error instanceof ApiError) {
    for (const entry of error.entries) process.stderr.write(`error: ${entry.details}\n`);
    process.exit(1);
  }
  throw error;
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { 'data-dir': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, file, ...rest] = positionals;
  if (values.help || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (!command) usageError('a command is required');
  const dataDir = values['data-dir'];
  const expectsFile = command === 'check' || command === 'import';
  if (rest.length > 0 || (!expectsFile && file !== undefined)) usageError(`unexpected argument: ${expectsFile ? rest[0] : file}`);

  switch (command) {
    case 'serve':
      return serveMain(dataDir ? { dataDir } : {});
    case 'status':
      return withServices(dataDir, async ({ certificates }) => {
        const view = certificates.active();
        const health = certificates.health();
        process.stdout.write(values.json ? JSON.stringify({ certificate: view, health }, null, 2) + '\n' : formatStatus(view, health));
      }, { readOnly: true }).catch(explain);
    case 'check': {
      const bytes = readBundle(file);
      const outcome = await validateInThread({ pem: new Uint8Array(bytes), now: Date.now() });
      process.stdout.write(values.json ? JSON.stringify(outcome, (key, value) => (key === 'keyPem' ? undefined : value), 2) + '\n' : formatReport(outcome));
      process.exit(outcome.ok ? 0 : 1);
    }
    // falls through never: process.exit above
    case 'import': {
      const bytes = readBundle(file);
      return withServices(dataDir, async ({ certificates }) => {
        const result = await certificates.upload(new Uint8Array(bytes), { actor: 'cli' }, { source: 'import' });
        if ('report' in result) return;
        const view = result.view;
        process.stdout.write(
          result.changed
            ? `imported and activated version ${view.version} (${certificateName(view)}, sha256 ${view.fingerprint_sha256})\n`
            : `this bundle is already active (version ${view.version}); nothing changed\n`,
        );
      }).catch(explain);
    }
    case 'reset-certificate':
      return withServices(dataDir, async ({ certificates }) => {
        const view = await certificates.reset({ actor: 'cli' });
        process.stdout.write(`activated a new self-signed certificate as version ${view.version} (sha256 ${view.fingerprint_sha256})\n`);
      }).catch(explain);
    case 'reset-admin-password':
      return withServices(dataDir, async ({ users }) => {
        const password = await users.resetAdminPassword();
        process.stdout.write(`one-time password for admin: ${password}\nlog in with it and {"new_password": "..."} in the body to set a new one.\n`);
      });
    default:
      usageError(`unknown command: ${command}`);
  }
}

// The database and master key hold secrets: files we create are readable by this user only.
process.umask(0o077);
await main(process.argv.slice(2));
