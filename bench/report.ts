import type { Target } from './targets.js';
import type { Distribution } from './stats.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- the report reads the JSON summary it is given */
type Results = Record<string, any> & { targets: Target[]; notes: string[] };

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const dist = (d: Distribution | undefined) => (d ? `p50 ${d.p50}  p99 ${d.p99}  max ${d.max}  (n=${d.n})` : 'not run');

function table(title: string, rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`\n## ${title}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

function applyTable(r: Results): string | undefined {
  const unpinned = r.uploadToServed;
  const pinned = r.pinned?.uploadToServed;
  if (!unpinned && !pinned) return undefined;
  const rows: [string, string][] = [];
  for (const kind of ['ec', 'rsa'] as const) {
    const label = kind === 'ec' ? 'EC P-256' : 'RSA-2048';
    rows.push([`${label}: sent → new handshake sees new leaf (ms)`, ''], ['  unpinned', dist(unpinned?.[kind].served)], ['  pinned', pinned ? dist(pinned[kind].served) : `not run${r.pinned?.skipped ? ` (${r.pinned.skipped})` : ''}`]);
    rows.push([`${label}: sent → 201 (ms)`, ''], ['  unpinned', dist(unpinned?.[kind].response)], ['  pinned', dist(pinned?.[kind].response)]);
    for (const [side, u] of [['unpinned', unpinned?.[kind]], ['pinned', pinned?.[kind]]] as const) {
      if (!u) continue;
      const parts = Object.entries(u.server as Record<string, Distribution>).map(([name, d]) => `${name} ${d.p50}`);
      rows.push([`  ${side}: server p50 (ms)`, parts.join(', ')]);
      rows.push([`  ${side}: stale leaf after 201 / failed uploads / probes`, `${u.staleAfter201} / ${u.failedUploads} / ${u.probes}`]);
    }
  }
  return table('upload → served (alternating two bundles; pinned: server on CPU 0, client on CPU 1)', rows);
}

function loadTable(label: string, l: any): string {
  return table(`swaps under load, ${label} (keep-alive GET /v1/health, 16 connections + 2 new-connection loops; ${l.segments} alternating ${l.segmentSeconds} s segments)`, [
    ['', 'without swaps      with a swap every 200 ms'],
    ['keep-alive req/s', `${String(l.withoutSwaps.requestsPerSecond).padEnd(19)}${l.withSwaps.requestsPerSecond}   (ratio ${l.ratio}×)`],
    ['new handshakes/s', `${String(l.withoutSwaps.handshakesPerSecond).padEnd(19)}${l.withSwaps.handshakesPerSecond}`],
    ['failed requests', `${String(l.withoutSwaps.failedRequests).padEnd(19)}${l.withSwaps.failedRequests}`],
    ['failed handshakes', `${String(l.withoutSwaps.failedHandshakes).padEnd(19)}${l.withSwaps.failedHandshakes}`],
    ['swaps done / failed uploads', `${l.withSwaps.swaps} / ${l.withSwaps.failedSwaps}`],
  ]);
}

export function printReport(r: Results): void {
  const out: string[] = [`hotcert benchmark  ${r.date}  node ${r.node}  ${r.cpus} CPUs  (${r.seconds} s)${r.only ? `  BENCH_ONLY=${r.only}` : ''}`];
  const apply = applyTable(r);
  if (apply) out.push(apply);
  if (r.swapsUnderLoad) out.push(loadTable('unpinned', r.swapsUnderLoad));
  if (r.pinned?.swapsUnderLoad) out.push(loadTable('pinned', r.pinned.swapsUnderLoad));
  const b = r.baseline;
  if (b) {
    out.push(
      table('baseline: hotcert vs bare node:https (same certificate, same response bytes)', [
        ['', 'hotcert    bare      ratio'],
        ['keep-alive req/s (GET /v1/health)', `${String(b.keepAlive.hotcert.requestsPerSecond).padEnd(11)}${String(b.keepAlive.bare.requestsPerSecond).padEnd(10)}${b.keepAlive.ratio}×`],
        ['new TLS handshakes/s', `${String(b.handshakes.hotcert.handshakesPerSecond).padEnd(11)}${String(b.handshakes.bare.handshakesPerSecond).padEnd(10)}${b.handshakes.ratio}×`],
      ]),
    );
  }
  const e = r.eventLoop;
  if (e) {
    out.push(
      table('event-loop delay (server histogram, beyond the 10 ms sampling interval; bucket upper bounds)', [
        ['idle, 1 s window', `p99 ${e.idleP99Ms} ms  max ${e.idleMaxMs} ms`],
        [`${e.uploads} uploads, ${e.inFlight} in flight`, `p99 ${e.busyP99Ms} ms  max ${e.busyMaxMs} ms  (${e.seconds} s; statuses ${JSON.stringify(e.statuses)}; ${e.clientAddresses} loopback client addresses)`],
      ]),
    );
  }
  const m = r.memory;
  if (m) {
    out.push(
      table(`memory (restarted process on an initialised data directory, real uploads; ${m.swaps} swaps in ${m.seconds} s${m.cutShort ? `, CUT SHORT of ${m.target} by the time budget` : ''})`, [
        ['RSS after first boot (new data directory, login done)', m.firstBoot ? mb(m.firstBoot.rss) : 'n/a'],
        ['RSS after start (restart, login done, before any swap)', `${mb(m.atStart.natural.rss)}  (after forced GC ${mb(m.atStart.afterGc.rss)}; heap ${mb(m.atStart.afterGc.heapUsed)}, external ${mb(m.atStart.afterGc.external)})`],
        [`RSS after ${m.swaps} swaps`, `${mb(m.atEnd.natural.rss)}  (after forced GC ${mb(m.atEnd.afterGc.rss)}; heap ${mb(m.atEnd.afterGc.heapUsed)}, external ${mb(m.atEnd.afterGc.external)})`],
        ['bytes per swap from the first swap', `${m.bytesPerSwap} B  (${m.bytesPerSwapAfterGc} B comparing readings after a forced GC of the main isolate)`],
        ['bytes per swap, second half of the run', m.secondHalfBytesPerSwap === undefined ? 'n/a' : `${m.secondHalfBytesPerSwap} B`],
        ['RSS curve (swaps: MB)', m.curve.map((p: { swaps: number; rssMb: number }) => `${p.swaps}: ${p.rssMb}`).join(', ')],
        ['swaps counted by the server', String(m.swapsTotalMetric)],
      ]),
    );
  }
  const c = r.coldStart;
  if (c) {
    out.push(table('cold start (spawn → first successful TLS handshake)', [
      ['restarts on an initialised data dir', `median ${c.medianMs} ms  (${c.restartsMs.join(', ')})`],
      ['first boot (migrations + self-signed key)', `${c.firstBootMs} ms`],
    ]));
  }
  const width = Math.max(...r.targets.map((t) => t.name.length));
  out.push(
    [
      '\n## targets (issue 12 item 11, then issue 6)',
      `  ${'target'.padEnd(width)}  ${'goal'.padEnd(8)}  ${'result'.padEnd(6)}  measured`,
      ...r.targets.map((t) => `  ${t.name.padEnd(width)}  ${t.goal.padEnd(8)}  ${(t.met ? 'met' : 'MISSED').padEnd(6)}  ${t.measured}`),
    ].join('\n'),
  );
  out.push(`\nnotes:\n${r.notes.map((n) => `  - ${n}`).join('\n')}\nJSON: bench/results/${r.only ? `${String(r.only).replace(/,/g, '-')}-latest.json` : 'latest.json'}`);
  process.stdout.write(out.join('\n') + '\n');
}
