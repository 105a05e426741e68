import { spawnSync } from 'node:child_process';
import { CLI, freePort, ROOT, spawnProcess, type RunningProcess } from './server-process.js';

export { CLI, freePort, ROOT };

export type SpawnedServer = RunningProcess;

/** `hotcert serve` as a real process with every log line kept; resolves once it logged that it listens. */
export function spawnServer(env: Record<string, string> & { DATA_DIR: string }, options: { timeoutMs?: number; listenings?: number } = {}): Promise<SpawnedServer> {
  const { DATA_DIR: dataDir, PORT: port, ...rest } = env;
  return spawnProcess({ dataDir, env: rest, keepLogs: true, ...(port ? { port: Number(port) } : {}), ...options });
}

/**
 * Resolves once every process of `server` (one per `listening` line: WORKERS=N) logged that it serves
 * `fingerprint`, having activated it or taken it from the database: the event, instead of polling handshakes.
 */
export function servedByEveryProcess(server: SpawnedServer, fingerprint: string): Promise<unknown> {
  const pids = new Set(server.logs.filter((entry) => entry.event === 'listening').map((entry) => entry.pid));
  return Promise.all([...pids].map((pid) => server.waitForLog((entry) =>
    entry.pid === pid && (entry.event === 'certificate.synced' || entry.event === 'certificate.activated') && entry.fingerprint_sha256 === fingerprint)));
}

/** Runs a `hotcert` command to completion. */
export function runCli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
