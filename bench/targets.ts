export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean;
}

export function target(name: string, goal: string, measured: string, met: boolean): Target {
  return { name, goal, measured, met };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- reads the results JSON the benchmark assembled */

const KB = 1024;

/** Issue 12 item 11 first, then issue 6's; only for the sections that ran. */
export function targetsOf(r: Record<string, any>): Target[] {
  const out: Target[] = [];
  const p = r.pinned;
  if (p?.uploadToServed) {
    for (const kind of ['ec', 'rsa'] as const) {
      const d = p.uploadToServed[kind].served;
      out.push(target(`pinned upload→served p50, ${kind === 'ec' ? 'EC P-256' : 'RSA-2048'}`, '≤ 16 ms', `${d.p50} ms (p99 ${d.p99})`, d.p50 <= 16));
    }
  }
  if (r.uploadToServed) {
    for (const kind of ['ec', 'rsa'] as const) {
      const d = r.uploadToServed[kind].served;
      out.push(target(`unpinned upload→served p50, ${kind === 'ec' ? 'EC P-256' : 'RSA-2048'}`, '≤ 6 ms', `${d.p50} ms (p99 ${d.p99})`, d.p50 <= 6));
    }
  }
  for (const [label, l] of [['pinned', p?.swapsUnderLoad], ['unpinned', r.swapsUnderLoad]] as const) {
    if (!l) continue;
    out.push(target(`throughput with swaps / without, ${label}`, '≥ 0.97×', `${l.ratio}×`, l.ratio >= 0.97));
  }
  const m = r.memory;
  if (m) {
    out.push(target('RSS after start (restart, before any swap)', '≤ 100 MB', `${(m.atStart.natural.rss / 1e6).toFixed(1)} MB`, m.atStart.natural.rss <= 100e6));
    out.push(target(`RSS growth per swap, from the first swap (${m.swaps} swaps)`, '≤ 1 KB', `${m.bytesPerSwap} B`, m.bytesPerSwap <= KB && !m.cutShort));
    const half = m.secondHalfBytesPerSwap;
    // Flat: the second half of the run adds no more than a tenth of the 1 KB budget per swap (a leak keeps its slope).
    out.push(target(`RSS flat over ${m.target} swaps (growth per swap, second half)`, '≤ 100 B', half === undefined ? 'n/a' : `${half} B`, half !== undefined && half <= 100 && !m.cutShort));
  }
  for (const [label, l] of [['pinned', p?.swapsUnderLoad], ['unpinned', r.swapsUnderLoad]] as const) {
    if (!l) continue;
    const w = l.withSwaps;
    out.push(target(`failed requests / handshakes during swaps, ${label}`, '0', `${w.failedRequests} / ${w.failedHandshakes}`, w.failedRequests === 0 && w.failedHandshakes === 0));
  }
  for (const [label, u] of [['pinned', p?.uploadToServed], ['unpinned', r.uploadToServed]] as const) {
    if (!u) continue;
    const stale = u.ec.staleAfter201 + u.rsa.staleAfter201;
    out.push(target(`old leaf on a handshake begun after the 201, ${label}`, '0', String(stale), stale === 0));
  }
  const b = r.baseline;
  if (b) {
    out.push(target('keep-alive req/s vs bare node:https', '≥ 0.9×', `${b.keepAlive.ratio}×`, b.keepAlive.ratio >= 0.9));
    out.push(target('new handshakes/s vs bare node:https', '≥ 0.95×', `${b.handshakes.ratio}×`, b.handshakes.ratio >= 0.95));
  }
  if (r.eventLoop) out.push(target('event-loop delay p99 during validation', '≤ 10 ms', `${r.eventLoop.busyP99Ms} ms`, r.eventLoop.busyP99Ms <= 10));
  if (r.coldStart) out.push(target('cold start (median of 5)', '≤ 500 ms', `${r.coldStart.medianMs} ms`, r.coldStart.medianMs <= 500));
  return out;
}
