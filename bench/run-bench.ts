import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureColdStart } from './cold-start.js';
import { adminToken, createClient, upload } from './client.js';
import { measureEventLoop } from './event-loop.js';
import { ROOT, spawnProcess } from '../test/helpers/server-process.js';
import { handshakeRate, keepAliveRate, swapsUnderLoad } from './load.js';
import { measureMemory } from './memory.js';
import { measureProxy } from './proxy-bench.js';
import { printProxyReport } from './proxy-report.js';
import { createBenchPki, type BenchBundle } from './pki.js';
import { round, sleep } from './stats.js';
import { targetsOf } from './targets.js';
import { measureUploadToServed } from './upload-to-served.js';

/**
 * `npm run bench`: hotcert as a real process on a temp data directory, 127.0.0.1 only, about 5 minutes:
 * issue 6's figures, issue 12's pinned case (server on CPU 0 via taskset, this client on CPU 1), memory over
 * 10,000 swaps, then the reverse-proxy section. `BENCH_ONLY=pinned|memory|proxy` runs one section.
 */
const SEGMENT_SECONDS = 3;
/** Alternating without/with swaps: six of each. */
const SEGMENTS = 12;
const BASELINE_SECONDS = 4;
const UPLOADS = 100;
const MEMORY_TARGET = 10_000;
/**
 * Every swap of the memory case is a real upload (validation, canary, commit, setSecureContext): 23–40 a second
 * on this 2-core machine (measured with bench/memory-probe.ts), so 10,000 take 4–7 minutes. 100 s cut every run
 * short at ~1,600 swaps, before the second half the "flat" target is about.
 */
const MEMORY_MAX_MS = 480_000;
const PROXY_SECONDS = 5;
const SERVER_CPU = '0';
const CLIENT_CPU = '1';

const began = performance.now();
const log = (line: string) => process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hotcert-bench-'));
const cleanup: (() => Promise<void> | void)[] = [() => rmSync(tmp, { recursive: true, force: true })];
const only = process.env.BENCH_ONLY;

/** Only the reverse-proxy figures (issue 11), saved to bench/results/proxy-latest.json. */
async function proxyOnly() {
  log('generating bundles');
  const bundles = await (await createBenchPki('ec')).leaves(2);
  const proxy = await measureProxy({ tmp, bundles, seconds: PROXY_SECONDS, log, cleanup });
  const out = path.join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const results = { date: new Date().toISOString(), node: process.version, cpus: os.availableParallelism(), proxy, seconds: round((performance.now() - began) / 1000, 1) };
  writeFileSync(path.join(out, 'proxy-latest.json'), JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(`hotcert benchmark, proxy section  ${results.date}  node ${results.node}  ${results.cpus} CPUs  (${results.seconds} s)\n`);
  printProxyReport(proxy);
}

/** Whether the pinned case can run here: taskset present and at least the two CPUs it names. */
function canPin(): string | undefined {
  if (os.availableParallelism() < 2) return 'fewer than 2 CPUs';
  if (spawnSync('taskset', ['-c', SERVER_CPU, 'true']).status !== 0 || spawnSync('taskset', ['-c', CLIENT_CPU, 'true']).status !== 0) return 'taskset is missing or CPUs 0 and 1 are not both available';
  return undefined;
}

/** Moves every thread of this (client) process onto `cpus`; threads started later inherit it. */
function pinSelf(cpus: string): void {
  const result = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)]);
  if (result.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${process.pid} failed: ${result.stderr.toString()}`);
}

interface Bundles {
  ec: BenchBundle[];
  rsa: BenchBundle[];
}

async function bundles(): Promise<Bundles> {
  log('generating bundles');
  const ec = await (await createBenchPki('ec')).leaves(12);
  const rsa = await (await createBenchPki('rsa')).leaves(2);
  return { ec, rsa };
}

async function startServer(name: string, options: { cpus?: string; hook?: boolean } = {}) {
  const server = await spawnProcess({ dataDir: path.join(tmp, name), ...options });
  cleanup.unshift(() => server.stop());
  const client = createClient(server.port);
  cleanup.unshift(() => client.close());
  const token = await adminToken(client);
  return { server, client, token };
}

async function applyPath(kind: 'unpinned' | 'pinned', b: Bundles) {
  const { server, client, token } = await startServer(kind, kind === 'pinned' ? { cpus: SERVER_CPU } : {});
  log(`${kind}: upload → served, ${UPLOADS} EC P-256 and ${UPLOADS} RSA-2048, a client probing with new handshakes`);
  const ec = await measureUploadToServed(client, server.port, token, [b.ec[0]!, b.ec[1]!], UPLOADS, 20_000);
  const rsa = await measureUploadToServed(client, server.port, token, [b.rsa[0]!, b.rsa[1]!], UPLOADS, 20_000);
  log(`${kind}: swaps under load (${SEGMENTS} × ${SEGMENT_SECONDS} s segments, alternating)`);
  const underLoad = await swapsUnderLoad({ port: server.port, token, client, bundles: b.ec.slice(0, 2), segmentSeconds: SEGMENT_SECONDS, segments: SEGMENTS });
  return { server, client, token, uploadToServed: { ec, rsa }, underLoad };
}

/** Issue 12, item 10: the server pinned to one core, this client on the other. */
async function pinned(b: Bundles) {
  const why = canPin();
  if (why) {
    log(`pinned case skipped: ${why}`);
    return { skipped: why };
  }
  // Restored afterwards as it was (a container may allow fewer CPUs than the machine has).
  const before = /list:\s*(\S+)/.exec(spawnSync('taskset', ['-p', '-c', String(process.pid)]).stdout.toString())?.[1] ?? `0-${os.cpus().length - 1}`;
  pinSelf(CLIENT_CPU);
  try {
    const { server, uploadToServed, underLoad } = await applyPath('pinned', b);
    await server.stop();
    return { serverCpus: SERVER_CPU, clientCpus: CLIENT_CPU, uploadToServed, swapsUnderLoad: underLoad };
  } finally {
    pinSelf(before);
  }
}

async function memory(b: Bundles) {
  // First boot (migrations, a self-signed key) once, for information; then a restart on that data directory, as an
  // appliance runs, so "after start" and "from the first swap on" mean what they say. The hook allows memory readings and a forced GC.
  const first = await startServer('memory', { hook: true });
  await sleep(1_000);
  const firstBoot = await first.server.memory();
  first.client.close();
  await first.server.stop();
  const { server, client, token } = await startServer('memory', { hook: true });
  log(`memory: RSS after start, then up to ${MEMORY_TARGET} swaps within ${MEMORY_MAX_MS / 1000} s`);
  const result = await measureMemory(server, token, b.ec, { target: MEMORY_TARGET, maxMs: MEMORY_MAX_MS, addresses: 3 });
  const metricsText = (await client.request('GET', '/v1/metrics?format=prometheus', { Authorization: `Bearer ${token}` })).body;
  const swapsTotal = [...metricsText.matchAll(/^hotcert_certificate_swaps_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  await server.stop();
  return { ...result, firstBoot, swapsTotalMetric: swapsTotal };
}

async function main() {
  const b = await bundles();
  // The pinned case is reported beside the unpinned one, so BENCH_ONLY=pinned runs both apply paths.
  const sections = new Set(only ? only.split(',').flatMap((name) => (name === 'pinned' ? ['apply', 'pinned'] : [name])) : ['apply', 'issue6', 'pinned', 'memory', 'proxy']);
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: os.availableParallelism(), only: only ?? null };

  if (sections.has('issue6')) {
    log('cold start (5 restarts)');
    results.coldStart = await measureColdStart(path.join(tmp, 'cold'));
  }
  let unpinned: Awaited<ReturnType<typeof applyPath>> | undefined;
  if (sections.has('apply') || sections.has('issue6')) {
    unpinned = await applyPath('unpinned', b);
    const { server, uploadToServed, underLoad } = unpinned;
    results.uploadToServed = uploadToServed;
    results.swapsUnderLoad = underLoad;
    if (!sections.has('issue6')) await server.stop();
  }
  if (sections.has('issue6')) {
    const { server, client, token } = unpinned!;

    // The baseline serves the same leaf and chain and answers GET /v1/health with hotcert's exact bytes.
    const baseBundle = b.ec[0]!;
    await upload(client, token, baseBundle.pem);
    const sample = await client.request('GET', '/v1/health', { Authorization: `Bearer ${token}` });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(sample.headers)) {
      if (['date', 'connection', 'keep-alive', 'transfer-encoding'].includes(name) || value === undefined) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const bareConfig = path.join(tmp, 'bare.json');
    writeFileSync(bareConfig, JSON.stringify({ keyPem: baseBundle.keyPem, certPem: [baseBundle.certPem, ...baseBundle.chainPems].join('\n'), status: sample.status, headers, body: sample.body }));
    const bare = await spawnProcess({ dataDir: tmp, script: path.join(ROOT, 'dist', 'bench', 'bare-server.js'), args: [], env: { BARE_CONFIG: bareConfig } });
    cleanup.unshift(() => bare.stop());

    log(`baseline vs bare node:https (${BASELINE_SECONDS} s each)`);
    const auth = { authorization: `Bearer ${token}` };
    const hotcertKeepAlive = await keepAliveRate(server.port, '/v1/health', auth, BASELINE_SECONDS);
    const bareKeepAlive = await keepAliveRate(bare.port, '/v1/health', auth, BASELINE_SECONDS);
    const hotcertHandshakes = await handshakeRate(server.port, BASELINE_SECONDS);
    const bareHandshakes = await handshakeRate(bare.port, BASELINE_SECONDS);
    await bare.stop();
    results.baseline = {
      keepAlive: { hotcert: hotcertKeepAlive, bare: bareKeepAlive, ratio: round(hotcertKeepAlive.requestsPerSecond / bareKeepAlive.requestsPerSecond, 3) },
      handshakes: { hotcert: hotcertHandshakes, bare: bareHandshakes, ratio: round(hotcertHandshakes.handshakesPerSecond / bareHandshakes.handshakesPerSecond, 3) },
    };

    log('event-loop delay: idle vs 100 uploads validating');
    results.eventLoop = await measureEventLoop(server.port, token, client, [...b.ec.slice(2, 6), ...b.rsa]);
    await server.stop();
  }
  if (sections.has('pinned')) results.pinned = await pinned(b);
  if (sections.has('memory')) results.memory = await memory(b);
  if (sections.has('proxy')) results.proxy = await measureProxy({ tmp, bundles: b.ec.slice(6, 8), seconds: PROXY_SECONDS, log, cleanup });

  results.notes = [
    `upload → served: ${UPLOADS} uploads per key type alternating two bundles; a client opens new TLS connections one after another (full handshakes) while each upload is in flight, and the first one presenting the new leaf ends the measurement`,
    `pinned: the server process (all its threads) on CPU ${SERVER_CPU} via taskset -c ${SERVER_CPU}, this benchmark client (probes, uploads, load generator) on CPU ${CLIENT_CPU}`,
    `swaps under load: ${SEGMENTS} alternating segments of ${SEGMENT_SECONDS} s (${SEGMENTS / 2} without swaps, ${SEGMENTS / 2} with a swap every 200 ms), alternated so that drift in the machine's speed hits both sides alike`,
    `baseline phases: ${BASELINE_SECONDS} s each`,
    'unpinned, the load generator, handshake loops and upload clients share this machine with the server',
    'hotcert runs with MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 and node --max-semi-space-size=1, as npm start and the Docker image run it; the bare server with the same malloc settings',
  ];
  results.targets = targetsOf(results);
  results.seconds = round((performance.now() - began) / 1000, 1);
  const out = path.join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, only ? `${only.replace(/,/g, '-')}-latest.json` : 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  const { printReport } = await import('./report.js');
  printReport(results as Parameters<typeof printReport>[0]);
  if (results.proxy) printProxyReport(results.proxy as Parameters<typeof printProxyReport>[0]);
}

try {
  await (only === 'proxy' ? proxyOnly() : main());
} finally {
  for (const step of cleanup) await step();
}
