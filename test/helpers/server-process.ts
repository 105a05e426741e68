import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Server processes for the tests and the benchmark alike: spawn `hotcert serve` (or another script), wait
 * for its `listening` line, read its JSON log, stop it. Runs from test/helpers/ (vitest) and from
 * dist/test/helpers/ (the compiled benchmark), so the package root is found, not counted.
 */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above test/helpers');
    dir = parent;
  }
  return dir;
}

export const ROOT = packageRoot();
/** BENCH_CLI runs another build of hotcert (e.g. a checkout of main) under the benchmark, for before/after figures. */
export const CLI = process.env.BENCH_CLI ?? path.join(ROOT, 'dist', 'src', 'cli', 'command-line.js');
export const SERVER_HOOK = path.join(ROOT, 'dist', 'bench', 'server-hook.js');

/** As package.json's start script and the Dockerfile run hotcert (see README, Performance). */
export const HOTCERT_NODE_ARGS = ['--max-semi-space-size=1'];

export type LogEntry = Record<string, unknown>;

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** With `workers: true`: heap snapshot size in bytes of each worker thread, taken (after its full GC) before the reading. */
  workerSnapshots?: number[];
}

export interface RunningProcess {
  child: ChildProcess;
  /** CPUs the process is pinned to, when it is. */
  cpus: string | undefined;
  port: number;
  spawnedAt: number;
  /** The (last awaited) `listening` log line. */
  listening: LogEntry;
  /** Every log line, when started with `keepLogs`. */
  logs: LogEntry[];
  stderr: string[];
  /**
   * Resolves with the first log line `match` accepts: one already kept (with `keepLogs`) or the next to come.
   * The event to wait for when another process or thread makes a change; `timeoutMs` is only a safety net.
   */
  waitForLog(match: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** Only when started with `hook: true`: asks the server process for process.memoryUsage(), optionally after a forced GC. */
  memory(options?: { gc?: boolean; workers?: boolean }): Promise<MemorySample>;
  /** Sends `signal` (SIGKILL after 5 s if it is still running) and resolves once it exited (`child.exitCode` then tells how). */
  stop(signal?: NodeJS.Signals): Promise<void>;
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

/**
 * How long a start may take before it counts as failed: a safety net, not a budget. A start is ~1 s of CPU;
 * with the suite's two files at a time and other work on a 2-core machine it has taken over 15 s.
 */
const LISTEN_SAFETY_NET_MS = 60_000;

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
  const logs: LogEntry[] = [];
  const stderr: string[] = [];
  const waiters = new Set<(entry: LogEntry) => void>();
  let buffered = '';
  const listening = await new Promise<LogEntry>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not listen within ${options.timeoutMs ?? LISTEN_SAFETY_NET_MS} ms: ${stderr.join('')}`));
    }, options.timeoutMs ?? LISTEN_SAFETY_NET_MS);
    let done = false;
    let seen = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      // Under load nobody reads the log: skip the parsing unless it is kept or awaited.
      if (done && !options.keepLogs && waiters.size === 0) return;
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let entry: LogEntry;
        try {
          entry = JSON.parse(line) as LogEntry;
        } catch {
          continue;
        }
        if (options.keepLogs) logs.push(entry);
        for (const waiter of [...waiters]) waiter(entry);
        if (!done && entry.event === 'listening' && ++seen >= (options.listenings ?? 1)) {
          done = true;
          clearTimeout(timer);
          resolve(entry);
        }
      }
      if (done && !options.keepLogs && waiters.size === 0) buffered = '';
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
    stderr,
    waitForLog(match, timeoutMs = 15_000) {
      const kept = logs.find(match);
      if (kept) return Promise.resolve(kept);
      return new Promise<LogEntry>((resolve, reject) => {
        const waiter = (entry: LogEntry) => {
          if (!match(entry)) return;
          finish();
          resolve(entry);
        };
        const onExit = (code: number | null) => {
          finish();
          reject(new Error(`server exited with ${code} before the awaited log line: ${stderr.join('')}`));
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`the awaited log line did not come within ${timeoutMs} ms`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
          child.off('exit', onExit);
        };
        waiters.add(waiter);
        child.once('exit', onExit);
      });
    },
    memory(request = {}) {
      if (!options.hook || !child.send) return Promise.reject(new Error('started without the bench hook'));
      const id = ++nextId;
      return new Promise<MemorySample>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no memory reading within 30 s')), 30_000);
        const onMessage = (message: { id?: number; memory?: MemorySample }) => {
          if (message.id !== id || !message.memory) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(message.memory);
        };
        child.on('message', onMessage);
        child.send({ type: 'memory', id, gc: request.gc ?? false, workers: request.workers ?? false });
      });
    },
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill(signal);
      }),
  };
}
