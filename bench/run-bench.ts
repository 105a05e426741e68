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
import { createBenchPki } from './pki.js';
import { round } from './stats.js';
import { target, type Target } from './targets.js';
import { measureUploadToServed } from './upload-to-served.js';

/**
 * `npm run bench`: hotcert as a real process on a temp data directory, 127.0.0.1 only, ≤ 5 minutes
 * (≤ 3 for issue 6's figures, then the reverse-proxy section). `BENCH_ONLY=proxy` runs only the proxy section.
 */
const BUDGET_MS = 160_000;
const SEGMENT_SECONDS = 5;
const SEGMENTS = 8;
const BASELINE_SECONDS = 4;
const MEMORY_TARGET = 10_000;
const PROXY_SECONDS = 5;

const began = performance.now();
const left = () => BUDGET_MS - (performance.now() - began);
const log = (line: string) => process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hotcert-bench-'));
const cleanup: (() => Promise<void> | void)[] = [() => rmSync(tmp, { recursive: true, force: true })];

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

async function main() {
  log('generating bundles');
  const ecPki = await createBenchPki('ec');
  const rsaPki = await createBenchPki('rsa');
  const ec = await ecPki.leaves(12);
  const rsa = await rsaPki.leaves(2);

  log('cold start (5 restarts)');
  const coldStart = await measureColdStart(path.join(tmp, 'cold'));

  const server = await spawnProcess({ dataDir: path.join(tmp, 'main') });
  cleanup.unshift(() => server.stop());
  const client = createClient(server.port);
  cleanup.unshift(() => client.close());
  const token = await adminToken(client);

  log('upload → served: 200 EC P-256, 200 RSA-2048');
  const uploadEc = await measureUploadToServed(client, server.port, token, [ec[0]!, ec[1]!], 200, 20_000);
  const uploadRsa = await measureUploadToServed(client, server.port, token, [rsa[0]!, rsa[1]!], 200, 20_000);

  // The baseline serves the same leaf and chain and answers GET /v1/health with hotcert's exact bytes.
  const baseBundle = ec[0]!;
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

  log(`swaps under load (${SEGMENTS} × ${SEGMENT_SECONDS} s segments, alternating)`);
  const underLoad = await swapsUnderLoad({ port: server.port, token, client, bundles: ec.slice(0, 2), segmentSeconds: SEGMENT_SECONDS, segments: SEGMENTS });

  log('event-loop delay: idle vs 100 uploads validating');
  const eventLoop = await measureEventLoop(server.port, token, client, [...ec.slice(2, 6), ...rsa]);

  await server.stop();

  // A fresh process, so "after 100 swaps" means what it says; the hook allows memory readings and a forced GC.
  const memoryServer = await spawnProcess({ dataDir: path.join(tmp, 'memory'), hook: true });
  cleanup.unshift(() => memoryServer.stop());
  const memoryClient = createClient(memoryServer.port);
  cleanup.unshift(() => memoryClient.close());
  const memoryToken = await adminToken(memoryClient);
  const memoryBudget = Math.max(10_000, left() - 6_000);
  log(`memory: up to ${MEMORY_TARGET} swaps within ${(memoryBudget / 1000).toFixed(0)} s`);
  const memory = await measureMemory(memoryServer, memoryToken, ec, { target: MEMORY_TARGET, maxMs: memoryBudget, addresses: 3 });
  const metricsText = (await memoryClient.request('GET', '/v1/metrics?format=prometheus', { Authorization: `Bearer ${memoryToken}` })).body;
  const swapsTotal = [...metricsText.matchAll(/^hotcert_certificate_swaps_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);

  await memoryServer.stop();
  const proxy = await measureProxy({ tmp, bundles: ec.slice(6, 8), seconds: PROXY_SECONDS, log, cleanup });

  const ratio = (a: number, b: number) => round(a / b, 3);
  const targets: Target[] = [
    target('upload→served p50, EC P-256', '≤ 10 ms', `${uploadEc.served.p50} ms`, uploadEc.served.p50 <= 10),
    target('upload→served p50, RSA-2048', '≤ 12 ms', `${uploadRsa.served.p50} ms`, uploadRsa.served.p50 <= 12),
    target('failed requests/handshakes during swaps', '0', `${underLoad.withSwaps.failedRequests} / ${underLoad.withSwaps.failedHandshakes}`, underLoad.withSwaps.failedRequests === 0 && underLoad.withSwaps.failedHandshakes === 0),
    target('throughput with swaps / without', '≥ 0.95×', `${underLoad.ratio}×`, underLoad.ratio >= 0.95),
    target('keep-alive req/s vs bare node:https', '≥ 0.9×', `${ratio(hotcertKeepAlive.requestsPerSecond, bareKeepAlive.requestsPerSecond)}×`, hotcertKeepAlive.requestsPerSecond >= 0.9 * bareKeepAlive.requestsPerSecond),
    target('new handshakes/s vs bare node:https', '≥ 0.95×', `${ratio(hotcertHandshakes.handshakesPerSecond, bareHandshakes.handshakesPerSecond)}×`, hotcertHandshakes.handshakesPerSecond >= 0.95 * bareHandshakes.handshakesPerSecond),
    target('event-loop delay p99 during validation', '≤ 10 ms', `${eventLoop.busyP99Ms} ms`, eventLoop.busyP99Ms <= 10),
    target('RSS growth per swap (100 → end)', '≤ 200 B', `${memory.bytesPerSwap} B (${memory.bytesPerSwapAfterGc} B after forced GC)`, memory.bytesPerSwap <= 200),
    target('cold start (median of 5)', '≤ 500 ms', `${coldStart.medianMs} ms`, coldStart.medianMs <= 500),
  ];

  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.availableParallelism(),
    notes: [
      `swaps under load: ${SEGMENTS} alternating segments of ${SEGMENT_SECONDS} s (${(SEGMENTS / 2) * SEGMENT_SECONDS} s with swaps, ${(SEGMENTS / 2) * SEGMENT_SECONDS} s without), alternated so that drift in the machine's speed hits both sides alike`,
      `baseline phases: ${BASELINE_SECONDS} s each`,
      'load generator, handshake loops and upload clients share this machine (2 cores) with the server',
      'hotcert and the bare server run with MALLOC_ARENA_MAX=2, as npm start and the Docker image run hotcert',
    ],
    uploadToServed: { ec: uploadEc, rsa: uploadRsa },
    baseline: {
      keepAlive: { hotcert: hotcertKeepAlive, bare: bareKeepAlive, ratio: ratio(hotcertKeepAlive.requestsPerSecond, bareKeepAlive.requestsPerSecond) },
      handshakes: { hotcert: hotcertHandshakes, bare: bareHandshakes, ratio: ratio(hotcertHandshakes.handshakesPerSecond, bareHandshakes.handshakesPerSecond) },
    },
    swapsUnderLoad: underLoad,
    eventLoop,
    memory: { ...memory, swapsTotalMetric: swapsTotal },
    coldStart,
    targets,
    proxy,
    seconds: round((performance.now() - began) / 1000, 1),
  };
  const out = path.join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  const { printReport } = await import('./report.js');
  printReport(results);
  printProxyReport(proxy);
}

try {
  await (process.env.BENCH_ONLY === 'proxy' ? proxyOnly() : main());
} finally {
  for (const step of cleanup) await step();
}
