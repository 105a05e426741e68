import cluster from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startHotcert, type Hotcert } from './instance.js';
import { DataDirError, openServices } from './services.js';
import { createLogger, stdoutDestination } from './observability/logger.js';

/** One line and exit code 2 for the operator's mistakes; no stack. */
function fail(message: string): never {
  process.stderr.write(`hotcert: ${message}\n`);
  process.exit(2);
}

/** Composition root of `hotcert serve`: the only place that reads process.env and handles signals. */
export async function serveMain(overrides: { dataDir?: string } = {}): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  if (overrides.dataDir) config = { ...config, dataDir: overrides.dataDir };
  const logger = createLogger(config.logLevel, stdoutDestination());

  if (config.workers > 1 && cluster.isPrimary) {
    await runPrimary(config, logger);
    return;
  }

  let hotcert: Hotcert;
  try {
    hotcert = await startHotcert(config, { logger });
  } catch (error) {
    if (error instanceof DataDirError) fail(error.message);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(`port ${config.port} is already in use`);
    logger.fatal({ event: 'boot.failed', error_name: (error as Error).name, message: (error as Error).message }, 'boot failed');
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ event: 'shutdown.forced', signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ event: 'shutdown', signal }, 'shutting down');
    hotcert.close(10_000).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** WORKERS=N: the primary prepares the data directory once, then N processes share the port. */
async function runPrimary(config: Config, logger: ReturnType<typeof createLogger>): Promise<void> {
  try {
    const services = await openServices(config, { logger, validation: 'inline', processMetrics: false });
    await services.users.ensureDefaultAdmin(config.adminPassword);
    await services.certificates.bootstrap();
    await services.close();
  } catch (error) {
    if (error instanceof DataDirError) fail(error.message);
    throw error;
  }
  let stopping = false;
  for (let i = 0; i < config.workers; i++) cluster.fork();
  cluster.on('exit', (worker, code) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ event: 'worker.exited', worker: worker.id, code }, 'worker exited; starting another');
    cluster.fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ event: 'shutdown', signal }, 'shutting down workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), 12_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
