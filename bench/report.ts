import type { Target } from './targets.js';
import type { Distribution } from './stats.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- the report reads the JSON summary it is given */
type Results = Record<string, any> & { targets: Target[]; notes: string[] };

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const dist = (d: Distribution) => `p50 ${d.p50}  p90 ${d.p90}  p99 ${d.p99}  (n=${d.n})`;

function table(title: string, rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`\n## ${title}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

export function printReport(r: Results): void {
  const out: string[] = [`hotcert benchmark  ${r.date}  node ${r.node}  ${r.cpus} CPUs  (${r.seconds} s)`];
  for (const kind of ['ec', 'rsa'] as const) {
    const u = r.uploadToServed[kind];
    const rows: [string, string][] = [
      ['request → new handshake sees new leaf (ms)', dist(u.served)],
      ['request → 201 (ms)', dist(u.response)],
    ];
    for (const [name, d] of Object.entries(u.server as Record<string, Distribution>)) rows.push([`  server ${name} (ms)`, dist(d)]);
    rows.push(['stale leaf after 201 / failed uploads', `${u.staleAfter201} / ${u.failedUploads}`]);
    out.push(table(`upload → served, ${kind === 'ec' ? 'EC P-256' : 'RSA-2048'} (alternating two bundles)`, rows));
  }
  const l = r.swapsUnderLoad;
  out.push(
    table(`swaps under load (keep-alive GET /v1/health, 16 connections + 2 new-connection loops; ${l.segments} alternating ${l.segmentSeconds} s segments)`, [
      ['', 'without swaps      with a swap every 200 ms'],
      ['keep-alive req/s', `${String(l.withoutSwaps.requestsPerSecond).padEnd(19)}${l.withSwaps.requestsPerSecond}   (ratio ${l.ratio}×)`],
      ['new handshakes/s', `${String(l.withoutSwaps.handshakesPerSecond).padEnd(19)}${l.withSwaps.handshakesPerSecond}`],
      ['failed requests', `${String(l.withoutSwaps.failedRequests).padEnd(19)}${l.withSwaps.failedRequests}`],
      ['failed handshakes', `${String(l.withoutSwaps.failedHandshakes).padEnd(19)}${l.withSwaps.failedHandshakes}`],
      ['swaps done / failed uploads', `${l.withSwaps.swaps} / ${l.withSwaps.failedSwaps}`],
    ]),
  );
  const b = r.baseline;
  out.push(
    table('baseline: hotcert vs bare node:https (same certificate, same response bytes)', [
      ['', 'hotcert    bare      ratio'],
      ['keep-alive req/s (GET /v1/health)', `${String(b.keepAlive.hotcert.requestsPerSecond).padEnd(11)}${String(b.keepAlive.bare.requestsPerSecond).padEnd(10)}${b.keepAlive.ratio}×`],
      ['new TLS handshakes/s', `${String(b.handshakes.hotcert.handshakesPerSecond).padEnd(11)}${String(b.handshakes.bare.handshakesPerSecond).padEnd(10)}${b.handshakes.ratio}×`],
    ]),
  );
  const e = r.eventLoop;
  out.push(
    table('event-loop delay (server histogram, beyond the 10 ms sampling interval; bucket upper bounds)', [
      ['idle, 1 s window', `p99 ${e.idleP99Ms} ms  max ${e.idleMaxMs} ms`],
      [`${e.uploads} uploads, ${e.inFlight} in flight`, `p99 ${e.busyP99Ms} ms  max ${e.busyMaxMs} ms  (${e.seconds} s; statuses ${JSON.stringify(e.statuses)}; ${e.clientAddresses} loopback client addresses)`],
    ]),
  );
  const m = r.memory;
  out.push(
    table(`memory (fresh process, real uploads; ${m.swaps} swaps in ${m.seconds} s${m.cutShort ? `, CUT SHORT of ${m.target} by the time budget` : ''})`, [
      ['RSS after 100 swaps', `${mb(m.at100.natural.rss)}  (after forced GC ${mb(m.at100.afterGc.rss)}; heap ${mb(m.at100.afterGc.heapUsed)})`],
      [`RSS after ${m.swaps} swaps`, `${mb(m.atEnd.natural.rss)}  (after forced GC ${mb(m.atEnd.afterGc.rss)}; heap ${mb(m.atEnd.afterGc.heapUsed)})`],
      ['bytes per swap', `${m.bytesPerSwap} B  (${m.bytesPerSwapAfterGc} B after forced GC of the main isolate)`],
      ['bytes per swap from 2,500 on', m.steadyBytesPerSwap === undefined ? 'n/a' : `${m.steadyBytesPerSwap} B  (after the allocators' warm-up; not the target's definition)`],
      ['RSS curve (swaps: MB)', m.curve.map((p: { swaps: number; rssMb: number }) => `${p.swaps}: ${p.rssMb}`).join(', ')],
      ['swaps counted by the server', String(m.swapsTotalMetric)],
    ]),
  );
  const c = r.coldStart;
  out.push(table('cold start (spawn → first successful TLS handshake)', [
    ['restarts on an initialised data dir', `median ${c.medianMs} ms  (${c.restartsMs.join(', ')})`],
    ['first boot (migrations + self-signed key)', `${c.firstBootMs} ms`],
  ]));
  out.push(table('targets (issue 6, item 2)', r.targets.map((t) => [t.name, `${t.met ? 'MET   ' : 'MISSED'}  ${t.measured}  (target ${t.goal})`])));
  out.push(`\nnotes:\n${r.notes.map((n) => `  - ${n}`).join('\n')}\nJSON: bench/results/latest.json`);
  process.stdout.write(out.join('\n') + '\n');
}
