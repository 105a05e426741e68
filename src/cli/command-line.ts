#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { Logger } from 'pino';
import { describeFsError } from '../describe-fs-error.js';
import type { Services } from '../services.js';
import type { ValidateTask } from '../validation/validate-task.js';
import { DomainError, type DomainErrorKind } from '../domain-errors.js';
import { packageVersion } from '../package-version.js';
import { certificateName } from '../validation/certificate-name.js';

/**
 * The server, the services and the validator load only for the command that needs them: `--help`,
 * `--version` and a usage error answer without loading them (a start costs ~1 s of CPU otherwise).
 */
const lazily = {
  // The configuration (zod) and the logger (pino) too: only the commands that open the data directory use them.
  config: () => import('../config.js'),
  logging: () => Promise.all([import('pino'), import('../observability/logger.js')]),
  services: () => import('../services.js'),
  serve: () => import('../main.js'),
  async check(pem: ValidateTask['pem']) {
    const [{ validateInline }, { toDryRunReport }] = await Promise.all([import('../validation/validate-task.js'), import('../certificates/dry-run-report.js')]);
    return toDryRunReport(await validateInline({ pem, now: Date.now() }));
  },
};
import { formatReport, formatStatus } from './format.js';

/** The exit codes, documented in `hotcert --help` and the README. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A service's refusal as an exit code: an unusable data directory is configuration (2), the rest a failed operation (1). */
const DOMAIN_EXIT: Record<DomainErrorKind, number> = {
  'invalid-input': EXIT.failed,
  'invalid-bundle': EXIT.failed,
  'missing-input': EXIT.failed,
  unauthenticated: EXIT.failed,
  forbidden: EXIT.failed,
  'password-change-required': EXIT.failed,
  'not-found': EXIT.failed,
  conflict: EXIT.failed,
  'precondition-failed': EXIT.failed,
  'too-many-attempts': EXIT.failed,
  busy: EXIT.failed,
  'not-ready': EXIT.failed,
  storage: EXIT.usage,
};

/** An expected failure: one line on stderr, then this exit code. */
class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface CommonOptions {
  dataDir?: string;
  json?: boolean;
}

const out = (text: string) => process.stdout.write(text);
const outJson = (value: unknown) => out(JSON.stringify(value, null, 2) + '\n');

/** What a command may need to know of how it was configured, besides the services. */
interface CommandContext {
  dataDir: string;
  /** The master key came from MASTER_KEY or MASTER_KEY_FILE, not from DATA_DIR/master.key. */
  masterKeyFromEnvironment: boolean;
  logger: Logger;
}

async function withServices<T>(dataDir: string | undefined, run: (services: Services, context: CommandContext) => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
  const { ConfigError, loadConfig } = await lazily.config();
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliFailure(error.message, EXIT.usage);
    throw error;
  }
  // Logs go to stderr so that stdout holds only the answer (and stays valid JSON with --json).
  const [{ default: pino }, { createLogger }] = await lazily.logging();
  const logger = createLogger(process.env.LOG_LEVEL ? config.logLevel : 'error', pino.destination(2));
  let services: Services;
  try {
    const { openServices } = await lazily.services();
    services = await openServices({ ...config, dataDir: dataDir ?? config.dataDir }, { logger, validation: 'inline', processMetrics: false, readOnly: options.readOnly });
  } catch (error) {
    if (error instanceof Error && error.name === 'DataDirError') throw new CliFailure(error.message, EXIT.usage);
    throw error;
  }
  try {
    return await run(services, { dataDir: path.resolve(dataDir ?? config.dataDir), masterKeyFromEnvironment: config.masterKey !== undefined, logger });
  } finally {
    await services.close();
  }
}

function readBundle(file: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (error) {
    throw new CliFailure(`cannot read ${file}: ${describeFsError(error)}`, EXIT.usage);
  }
}

const dataDirOption = () => new Option('--data-dir <dir>', 'data directory (default: $DATA_DIR or ./data)');
const jsonOption = () => new Option('--json', 'print one JSON object instead of text');

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

function buildProgram(): Command {
  const program = new Command('hotcert')
    .description('HTTPS API server that owns its TLS identity, and the commands to look after it offline')
    .version(packageVersion, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help (also: hotcert <command> --help)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Parse errors as one line: "hotcert: unknown command 'stauts' (Did you mean status?)".
      outputError: (message, write) => write(`hotcert: ${message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()} (see hotcert --help)\n`),
    })
    .addHelpText(
      'after',
      `
All commands work while the server is stopped; those that change state are also safe while it runs
(every server process picks the change up within 1 s).

Exit codes:
  0  success
  1  the operation failed (an invalid bundle, a refused import, an unexpected error)
  2  usage or configuration error (bad arguments, unreadable file, bad environment, unusable data directory)
${examples('hotcert serve', 'hotcert check bundle.pem --json', 'hotcert status --data-dir /data')}`,
    );

  program
    .command('serve')
    .description('run the HTTPS server (what npm start runs); configured by environment variables, see the README')
    .addOption(dataDirOption())
    .addHelpText('after', examples('hotcert serve', 'PORT=8443 ADMIN_PASSWORD_FILE=/run/secrets/admin hotcert serve --data-dir /data'))
    .action(async (options: CommonOptions) => {
      const { serveMain } = await lazily.serve();
      await serveMain(options.dataDir ? { dataDir: options.dataDir } : {});
    });

  program
    .command('status')
    .description('show the active certificate: subject, SANs, issuer, validity, fingerprint, version, source')
    .addOption(dataDirOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('hotcert status --data-dir /data', 'hotcert status --json | jq -r .certificate.not_after'))
    .action(async (options: CommonOptions) => {
      await withServices(options.dataDir, async ({ certificates }) => {
        const [view, health] = await Promise.all([certificates.active(), certificates.health()]);
        out(options.json ? JSON.stringify({ certificate: view, health }, null, 2) + '\n' : formatStatus(view, health));
      }, { readOnly: true });
    });

  program
    .command('check')
    .description('validate a PEM bundle exactly as the upload endpoint does; nothing is stored (exit 0 valid, 1 invalid)')
    .argument('<file>', 'PEM bundle: private key, server certificate, intermediates')
    // Accepted for symmetry with the other commands; check never opens (or creates) the data directory.
    .addOption(dataDirOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      examples('hotcert check bundle.pem', 'hotcert check bundle.pem --json   # {"report": …}, as POST /v1/certificates/external?dry_run=true'),
    )
    .action(async (file: string, options: CommonOptions) => {
      const report = await lazily.check(readBundle(file));
      if (options.json) outJson({ report });
      else out(formatReport(report));
      process.exitCode = report.valid ? EXIT.ok : EXIT.failed;
    });

  program
    .command('import')
    .description('validate a PEM bundle and make it the active certificate (a running server serves it within 1 s)')
    .argument('<file>', 'PEM bundle: private key, server certificate, intermediates')
    .addOption(dataDirOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('hotcert import bundle.pem --data-dir /data', 'hotcert import bundle.pem --json'))
    .action(async (file: string, options: CommonOptions) => {
      const pem = readBundle(file);
      await withServices(options.dataDir, async ({ certificates }) => {
        const report = await lazily.check(pem);
        let result;
        try {
          result = await certificates.upload(pem, { actor: 'cli' }, { source: 'import' });
        } catch (error) {
          if (!(error instanceof DomainError && error.kind === 'invalid-bundle') || report.valid) throw error;
          if (options.json) outJson({ report });
          else out(formatReport(report));
          throw new CliFailure(`import refused: the bundle is invalid (${report.errors.length} error${report.errors.length === 1 ? '' : 's'}); nothing changed`, EXIT.failed);
        }
        const view = result.view;
        if (options.json) return outJson({ report, changed: result.changed, certificate: view });
        out(
          result.changed
            ? `imported and activated version ${view.version} (${certificateName(view)}, sha256 ${view.fingerprint_sha256})\n`
            : `this bundle is already active (version ${view.version}); nothing changed\n`,
        );
        for (const warning of report.warnings) out(`  warning [${warning.rule}]: ${warning.message}\n`);
      });
    });

  program
    .command('reset-certificate')
    .description('activate a fresh self-signed certificate (the recovery for everything)')
    .addOption(dataDirOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('hotcert reset-certificate --data-dir /data', 'hotcert reset-certificate --json'))
    .action(async (options: CommonOptions) => {
      await withServices(options.dataDir, async ({ certificates }) => {
        const view = await certificates.reset({ actor: 'cli' });
        if (options.json) return outJson({ certificate: view });
        out(`activated a new self-signed certificate as version ${view.version} (sha256 ${view.fingerprint_sha256})\n`);
      });
    });

  program
    .command('reset-admin-password')
    .description('print a one-time admin password; the next login must change it')
    .addOption(dataDirOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('hotcert reset-admin-password --data-dir /data', 'hotcert reset-admin-password --json | jq -r .password'))
    .action(async (options: CommonOptions) => {
      await withServices(options.dataDir, async ({ users }) => {
        const password = await users.resetAdminPassword();
        if (options.json) return outJson({ username: 'admin', password, must_change_password: true });
        out(`one-time password for admin: ${password}\nlog in with it and {"new_password": "..."} in the body to set a new one.\n`);
      });
    });

  program
    .command('rotate-master-key')
    .description('re-seal every stored private key and secret under a new master key, in one transaction')
    .requiredOption('--new-key-file <file>', 'file holding the new key: base64 of 32 bytes (openssl rand -base64 32)')
    .addOption(dataDirOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
The current key is read as every command reads it (MASTER_KEY, MASTER_KEY_FILE or DATA_DIR/master.key).
Stop every server first: a running one keeps the old key. If any stored value does not open with the
current key, nothing changes (exit 1). When the current key came from DATA_DIR/master.key, that file
is replaced by the new key; otherwise start every instance with the new MASTER_KEY or MASTER_KEY_FILE.
Keys are never printed.
${examples('openssl rand -base64 32 > new.key && hotcert rotate-master-key --new-key-file new.key --data-dir /data', 'MASTER_KEY_FILE=/run/secrets/old.key DATABASE_URL=postgres://… hotcert rotate-master-key --new-key-file /run/secrets/new.key')}`,
    )
    .action(async (options: CommonOptions & { newKeyFile: string }) => {
      const { readKeyFile, replaceMasterKeyFile } = await import('../secrets/master-key.js');
      let newKey: Buffer;
      try {
        newKey = readKeyFile(options.newKeyFile);
      } catch (error) {
        if (error instanceof Error && error.name === 'MasterKeyError') throw new CliFailure(error.message, EXIT.usage);
        throw new CliFailure(`cannot read ${options.newKeyFile}: ${describeFsError(error)}`, EXIT.usage);
      }
      await withServices(options.dataDir, async (services, context) => {
        const [{ rotateMasterKey, resealLastKnownGood }, { createLastKnownGood }] = await Promise.all([import('../secrets/rotate-master-key.js'), import('../certificates/last-known-good.js')]);
        const { resealed } = await rotateMasterKey(services.stores.sealedValues, services.masterKey, newKey, Date.now());
        const lastKnownGood = await resealLastKnownGood(createLastKnownGood({ dataDir: context.dataDir, logger: context.logger }), services.masterKey, newKey);
        let keyFile: string | null = null;
        if (!context.masterKeyFromEnvironment) {
          try {
            keyFile = replaceMasterKeyFile(context.dataDir, newKey);
          } catch (error) {
            throw new CliFailure(
              `re-sealed ${resealed} values under the new key, but ${path.join(context.dataDir, 'master.key')} could not be replaced (${describeFsError(error)}): copy ${options.newKeyFile} there before starting the server`,
              EXIT.failed,
            );
          }
        }
        if (options.json) return outJson({ resealed, master_key_file: keyFile, last_known_good: lastKnownGood });
        out(`re-sealed ${resealed} stored value${resealed === 1 ? '' : 's'} under the new master key; the old key is refused from now on\n`);
        out(keyFile ? `${keyFile} now holds the new key\n` : 'start every instance with the new key (MASTER_KEY or MASTER_KEY_FILE)\n');
        if (lastKnownGood === 'resealed') out("this instance's last-known-good certificate is re-sealed too; other instances rewrite theirs when they next serve from the database\n");
        if (lastKnownGood === 'unreadable') out("this instance's last-known-good certificate does not open with the old key and was left as it is\n");
      });
    });

  return program;
}

/** Runs the command line; every expected failure ends as one line on stderr and an exit code, never a stack. */
async function runCommandLine(argv: string[]): Promise<void> {
  const program = buildProgram();
  if (argv.length === 0) {
    process.stderr.write('hotcert: a command is required (see hotcert --help)\n');
    process.exitCode = EXIT.usage;
    return;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0; parse errors were printed by outputError.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (error instanceof CliFailure) {
      process.stderr.write(`hotcert: ${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof DomainError) {
      process.stderr.write(`hotcert: ${error.details.join('; ')}\n`);
      process.exitCode = DOMAIN_EXIT[error.kind];
      return;
    }
    // A bug or an environment problem: the class and the first line of the message, never a stack.
    const first = String((error as Error)?.message ?? error).split('\n')[0];
    process.stderr.write(`hotcert: unexpected ${(error as Error)?.name ?? 'error'}: ${first}\n`);
    process.exitCode = EXIT.failed;
  }
}

// `hotcert status | head -3`: a reader that stops early is not an error worth a stack.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? EXIT.ok);
});

// The database and master key hold secrets: files we create are readable by this user only.
process.umask(0o077);
await runCommandLine(process.argv.slice(2));
