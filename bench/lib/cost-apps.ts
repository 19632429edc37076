/**
 * The watched apps of the monitor-cost benchmark: a tiny node:http script that answers /health and
 * remembers when (a ring of Date.now() stamps), started under the lab's PM2 in batches; and the
 * tick check built on those stamps: was every app probed once per interval, none skipped, none
 * doubled. The stamps come from the apps themselves, so the check sees what each side really sent.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { Sandbox } from '../../test/helpers/sandbox.js';

/** /health counts and stamps; /hits?since=MS returns {hits, stamps >= since, complete}. */
export const APP_SOURCE = `'use strict';
const http = require('node:http');
const RING = 8192;
const stamps = new Float64Array(RING);
let hits = 0;
http.createServer((req, res) => {
  if (req.url === '/health') {
    stamps[hits % RING] = Date.now();
    hits++;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 15 });
    return res.end('{"status":"ok"}');
  }
  if (req.url.startsWith('/hits')) {
    const since = Number(new URL(req.url, 'http://x').searchParams.get('since')) || 0;
    const kept = Math.min(hits, RING);
    const out = [];
    for (let i = hits - kept; i < hits; i++) if (stamps[i % RING] >= since) out.push(stamps[i % RING]);
    // Complete when nothing after 'since' was overwritten: no wrap yet, or the oldest kept is older.
    const complete = hits <= RING || stamps[(hits - kept) % RING] < since;
    const body = JSON.stringify({ hits, stamps: out, complete });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    return res.end(body);
  }
  res.writeHead(404, { 'content-length': 0 });
  res.end();
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

export const appName = (i: number): string => `tiny-${String(i).padStart(3, '0')}`;

/** One GET on 127.0.0.1:port through `agent`; resolves with status and body (status 0 on error). */
export function get(port: number, path: string, agent: http.Agent | false, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.setTimeout(timeoutMs, () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '' }));
  });
}

/** Each app's /health stamps since `since` (Date.now() ms); undefined for an app that did not answer or lost stamps. */
export async function stampsSince(ports: readonly number[], since: number): Promise<(number[] | undefined)[]> {
  return Promise.all(ports.map(async (p) => {
    const r = await get(p, `/hits?since=${Math.floor(since)}`, false, 5000);
    try {
      const doc = JSON.parse(r.body) as { stamps: number[]; complete: boolean };
      return doc.complete ? doc.stamps : undefined;
    } catch {
      return undefined;
    }
  }));
}

/**
 * Start apps `from`..`to-1` (names appName(i), ports[i]) in batches of `batch`, each batch
 * waiting until all of its apps answer /health: 200 node starts at once would swamp 2 cores.
 */
export async function startApps(
  sb: Sandbox, o: { script: string; cwd: string; ports: readonly number[]; from: number; to: number; batch?: number; onProgress: (text: string) => void },
): Promise<void> {
  const batch = o.batch ?? 10;
  for (let i = o.from; i < o.to; i += batch) {
    const ids = Array.from({ length: Math.min(batch, o.to - i) }, (_, k) => i + k);
    o.onProgress(`starting apps ${i + 1}-${i + ids.length} of ${o.to}`);
    await Promise.all(ids.map((k) => sb.start({
      name: appName(k), script: o.script, cwd: o.cwd, env: { PORT: String(o.ports[k]) }, autorestart: true, max_restarts: 3,
    })));
    const until = performance.now() + 120_000;
    for (;;) {
      const answers = await Promise.all(ids.map((k) => get(o.ports[k]!, '/hits?since=9e15', false, 1000)));
      const ok = answers.filter((a) => a.status === 200).length;
      if (ok === ids.length) break;
      if (performance.now() > until) {
        const silent = ids.filter((_, j) => answers[j]!.status !== 200);
        throw new Error(`only ${ok}/${ids.length} of apps ${i + 1}-${i + ids.length} answer after 120 s: ${(await Promise.all(silent.map((k) => why(sb, k, o.ports[k]!)))).join('; ')}`);
      }
      o.onProgress(`apps ${i + 1}-${i + ids.length} of ${o.to}: ${ok}/${ids.length} answer`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Why an app does not answer: its PM2 status and the last line of its error log (a port taken by someone else shows as EADDRINUSE). */
async function why(sb: Sandbox, k: number, port: number): Promise<string> {
  const info = await sb.info(appName(k)).catch(() => undefined);
  let last = '';
  try {
    last = readFileSync(join(sb.home, 'logs', `${appName(k)}-error.log`), 'utf8').trim().split('\n').filter((l) => /Error|EADDR/.test(l)).at(-1) ?? '';
  } catch {
    // no log
  }
  return `${appName(k)} on port ${port}: PM2 ${info ? `${info.status}, ${info.restarts} restart(s)` : 'does not know it'}${last ? `, ${last.trim()}` : ''}`;
}

/** How regularly the apps were probed in [t0, t1] (Date.now() ms). */
export interface Ticks {
  readonly apps: number;
  readonly intervalMs: number;
  readonly windowMs: number;
  /** Probes the apps counted in the window. */
  readonly probes: number;
  /** probes / apps / (windowMs / intervalMs): 1.000 when every app was probed once per interval. */
  readonly perAppPerInterval: number;
  readonly minPerApp: number;
  readonly maxPerApp: number;
  /** Ticks missing: a gap of g > 1.5 intervals (the window's edges included) counts round(g / interval) - 1. */
  readonly skipped: number;
  /** Gaps shorter than half an interval: a second probe in the same tick. */
  readonly doubled: number;
  /**
   * Apps probed more than once fewer (behind) or more (ahead) than window / interval times: a
   * steady period a little off the interval (drift) shows here without any one gap being odd.
   */
  readonly behind: number;
  readonly ahead: number;
  readonly minGapMs: number;
  readonly maxGapMs: number;
  /** Apps whose stamps could not be read (no answer, or the ring overflowed). */
  readonly unreadable: number;
}

export function analyseTicks(perApp: readonly (number[] | undefined)[], t0: number, t1: number, intervalMs: number): Ticks {
  let probes = 0;
  let skipped = 0;
  let doubled = 0;
  let unreadable = 0;
  let behind = 0;
  let ahead = 0;
  const expected = (t1 - t0) / intervalMs;
  let minGap = Infinity;
  let maxGap = 0;
  let minPerApp = Infinity;
  let maxPerApp = 0;
  for (const all of perApp) {
    if (!all) {
      unreadable++;
      continue;
    }
    const s = all.filter((t) => t >= t0 && t <= t1).sort((a, b) => a - b);
    probes += s.length;
    minPerApp = Math.min(minPerApp, s.length);
    maxPerApp = Math.max(maxPerApp, s.length);
    if (s.length < expected - 1) behind++;
    if (s.length > expected + 1) ahead++;
    const edges = [t0, ...s, t1];
    for (let i = 1; i < edges.length; i++) {
      const gap = edges[i]! - edges[i - 1]!;
      const inner = i > 1 && i < edges.length - 1;
      if (gap > 1.5 * intervalMs) skipped += Math.round(gap / intervalMs) - 1;
      if (inner) {
        if (gap < 0.5 * intervalMs) doubled++;
        minGap = Math.min(minGap, gap);
        maxGap = Math.max(maxGap, gap);
      }
    }
  }
  const read = perApp.length - unreadable;
  const windowMs = t1 - t0;
  return {
    apps: perApp.length, intervalMs, windowMs, probes,
    perAppPerInterval: read > 0 ? probes / read / (windowMs / intervalMs) : NaN,
    minPerApp: read > 0 ? minPerApp : NaN, maxPerApp: read > 0 ? maxPerApp : NaN,
    skipped, doubled, behind, ahead, minGapMs: minGap, maxGapMs: maxGap, unreadable,
  };
}

export const ticksOk = (t: Ticks): boolean => t.skipped === 0 && t.doubled === 0 && t.behind === 0 && t.ahead === 0 && t.unreadable === 0 && t.probes > 0;

/** "1.000 ok", "0.983: 12 skipped, 1 doubled", "0.990: 50 app(s) behind". */
export function describeTicks(t: Ticks): string {
  const v = Number.isFinite(t.perAppPerInterval) ? t.perAppPerInterval.toFixed(3) : '?';
  if (ticksOk(t)) return `${v} ok`;
  const why = [
    ...(t.skipped ? [`${t.skipped} skipped`] : []),
    ...(t.doubled ? [`${t.doubled} doubled`] : []),
    ...(t.behind ? [`${t.behind} app(s) behind`] : []),
    ...(t.ahead ? [`${t.ahead} app(s) ahead`] : []),
    ...(t.unreadable ? [`${t.unreadable} unread`] : []),
    ...(t.probes === 0 ? ['no probes'] : []),
  ];
  return `${v}: ${why.join(', ')}`;
}
