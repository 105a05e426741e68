import type { LatencyResult, ProxyResults } from './proxy-bench.js';

const lat = (l: LatencyResult) => `p50 ${l.p50} ms  p99 ${l.p99} ms  (n=${l.n}, failed ${l.failed}, not sent ${l.skipped})`;

function table(title: string, rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`\n## ${title}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

/** The proxy section of `npm run bench` (issue 11, item 4). */
export function printProxyReport(r: ProxyResults): void {
  const w1 = r.workers1;
  const w2 = r.workers2;
  const out: string[] = [];
  out.push(
    table(`reverse proxy: keep-alive req/s (${r.connections} connections, ${r.secondsPerRun} s each; upstream ${r.upstream})`, [
      ['', 'hotcert    pass-through  ratio    hotcert WORKERS=2'],
      ...(['1k', '64k'] as const).map((size): [string, string] => [
        `${size === '1k' ? '1 KiB' : '64 KiB'} responses`,
        `${String(w1.rates[size].hotcert.requestsPerSecond).padEnd(11)}${String(w1.rates[size].passThrough.requestsPerSecond).padEnd(14)}${String(w1.rates[size].ratio + '×').padEnd(9)}${w2.rates[size].requestsPerSecond}`,
      ]),
      ['failed (hotcert 1k/64k, pass 1k/64k)', `${w1.rates['1k'].hotcert.failed}/${w1.rates['64k'].hotcert.failed}, ${w1.rates['1k'].passThrough.failed}/${w1.rates['64k'].passThrough.failed}`],
    ]),
  );
  out.push(
    table(`latency at half load, 1 KiB (WORKERS=1: ${w1.latency.hotcert.ratePerSecond} req/s; WORKERS=2: ${w2.latency.hotcert.ratePerSecond} req/s)`, [
      ['direct to the upstream (http)', lat(w1.latency.direct)],
      ['through hotcert (https)', lat(w1.latency.hotcert)],
      ['through the pass-through (https)', lat(w1.latency.passThrough)],
      ['WORKERS=2: direct', lat(w2.latency.direct)],
      ['WORKERS=2: through hotcert', lat(w2.latency.hotcert)],
    ]),
  );
  const s = r.swaps;
  out.push(
    table(`swaps under proxied load (GET /1k, 16 connections + 2 new-connection loops; ${s.segments} × ${s.segmentSeconds} s)`, [
      ['', 'without swaps      with a swap every 200 ms'],
      ['keep-alive req/s', `${String(s.withoutSwaps.requestsPerSecond).padEnd(19)}${s.withSwaps.requestsPerSecond}`],
      ['failed requests', `${String(s.withoutSwaps.failedRequests).padEnd(19)}${s.withSwaps.failedRequests}`],
      ['failed handshakes', `${String(s.withoutSwaps.failedHandshakes).padEnd(19)}${s.withSwaps.failedHandshakes}`],
      ['swaps done / failed uploads', `${s.withSwaps.swaps} / ${s.withSwaps.failedSwaps}`],
    ]),
  );
  const d = r.download;
  out.push(
    table('1 GiB streamed through hotcert to a slow reader (≤ ~125 MB/s)', [
      ['received', `${d.bytes} of ${d.expectedBytes} bytes in ${d.seconds} s${d.complete ? '' : '  INCOMPLETE'}`],
      ['hotcert RSS', `${d.rssBeforeMb} MB before, ${d.rssPeakMb} MB peak (+${d.rssGrowthMb} MB)`],
    ]),
  );
  out.push(table('targets (issue 11, item 4)', r.targets.map((t) => [t.name, `${t.met ? 'MET   ' : 'MISSED'}  ${t.measured}  (target ${t.goal})`])));
  process.stdout.write(out.join('\n') + '\n');
}
