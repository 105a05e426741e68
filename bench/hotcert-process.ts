import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/bench/ when compiled; the package root is two levels up. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** BENCH_CLI runs another build of hotcert (e.g. a checkout of main) under this benchmark, for before/after figures. */
export const CLI = process.env.BENCH_CLI ?? path.join(ROOT, 'dist', 'src', 'cli', 'hotcert.js');
export const SERVER_HOOK = path.join(ROOT, 'dist', 'bench', 'server-hook.js');

/** As package.json's start script and the Dockerfile run hotcert (see README, Performance). */
export const HOTCERT_NODE_ARGS = ['--max-semi-space-size=1'];

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface RunningProcess {
  child: ChildProcess;
  /** CPUs the process is pinned to, when it is. */
  cpus: string | undefined;
  port: number;
  spawnedAt: number;
  listening: Record<string, unknown>;
  logs: Record<string, unknown>[];
  /** Only when started with `hook: true`: asks the server process for process.memoryUsage(), optionally after a forced GC. */
  memory(options?: { gc?: boolean }): Promise<MemorySample>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface SpawnOptions {
  dataDir: string;
  port?: number;
  /** Load bench/server-hook.js (forced GC and memory readings over IPC, for the benchmark only). */
  hook?: boolean;
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** Keep every log line (the default keeps none, to stay cheap under load). */
  keepLogs?: boolean;
  script?: string;
  args?: string[];
  timeoutMs?: number;
  /** Resolve after this many `listening` lines (WORKERS=N logs one per process); default 1. */
  listenings?: number;
  /** Pin the process (every thread it will start) to these CPUs with `taskset -c`, e.g. '0'. */
  cpus?: string;
}

/** Starts a server process (hotcert by default) and resolves once it logged `listening`. */
export async function spawnProcess(options: SpawnOptions): Promise<RunningProcess> {
  const port = options.port ?? (await freePort());
  // hotcert runs with the V8 flags `npm start` and the Docker image give it; other scripts (the bare server) without.
  const nodeArgs = [...(options.script === undefined ? HOTCERT_NODE_ARGS : []), ...(options.nodeArgs ?? [])];
  if (options.hook) nodeArgs.push('--expose-gc', '--import', SERVER_HOOK);
  const spawnedAt = performance.now();
  const argv = [process.execPath, ...nodeArgs, options.script ?? CLI, ...(options.args ?? ['serve'])];
  // taskset execs node in place: the child's pid is the server's.
  const [command, ...args] = options.cpus === undefined ? argv : ['taskset', '-c', options.cpus, ...argv];
  const child = spawn(command!, args, {
    // The malloc settings `npm start` and the Docker image run hotcert with (fewer glibc arenas for its threads;
    // large blocks returned to the system when freed).
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info', MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', DATA_DIR: options.dataDir, ...options.env, PORT: String(port) },
    stdio: options.hook ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  let buffered = '';
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not listen within ${options.timeoutMs ?? 15_000} ms: ${stderr.join('')}`));
    }, options.timeoutMs ?? 15_000);
    let done = false;
    let seen = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (done && !options.keepLogs) return;
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (options.keepLogs) logs.push(entry);
        if (!done && entry.event === 'listening' && ++seen >= (options.listenings ?? 1)) {
          done = true;
          clearTimeout(timer);
          resolve(entry);
        }
      }
      if (done && !options.keepLogs) buffered = '';
    });
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!done) reject(new Error(`server exited with ${code} before listening: ${stderr.join('')}`));
    });
  });

  let nextId = 0;
  return {
    child,
    cpus: options.cpus,
    port,
    spawnedAt,
    listening,
    logs,
    memory(request = {}) {
      if (!options.hook || !child.send) return Promise.reject(new Error('started without the bench hook'));
      const id = ++nextId;
      return new Promise<MemorySample>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no memory reading within 10 s')), 10_000);
        const onMessage = (message: { id?: number; memory?: MemorySample }) => {
          if (message.id !== id || !message.memory) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(message.memory);
        };
        child.on('message', onMessage);
        child.send({ type: 'memory', id, gc: request.gc ?? false });
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
