/** The observability benchmark's tables and the JSON form of its results. */
import type { LogTrial } from './obs-logs.js';
import type { RssResult, Side } from './obs-rss.js';

const SIDE_LABELS: Readonly<Record<Side, string>> = { off: 'http: off', idle: 'http: on, never asked', on: 'http: on, /metrics every 5 s' };
import type { OpResult } from './obs-timing.js';
import { mib, ratio } from './proc.js';
import { summarize, table, type Summary } from './stats.js';

export interface SizeTiming {
  readonly apps: number;
  readonly unhealthy: number;
  readonly inProcess: readonly OpResult[];
  readonly http: readonly OpResult[];
}

const msText = (v: number): string => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(3) : v.toFixed(1)} ms` : '-');
const usText = (v: number): string => (Number.isFinite(v) ? `${Math.round(v)} µs` : '-');
const kib = (b: number): string => (b >= 10_240 ? `${(b / 1024).toFixed(1)} KiB` : `${b} B`);

const PART_LABELS: Readonly<Record<string, string>> = {
  scrape: 'metrics.scrape() (MonitorMetrics)',
  'scrape-baseline': '  baseline: bare prom-client registry, default metrics only',
  status: 'liveStatusDocument + JSON.stringify (holders given)',
  'status-baseline': '  baseline: JSON.stringify of the same document',
  page: 'renderStatusPage(model)',
  'page-baseline': '  baseline: JSON.stringify of the same page model',
  holders: '/proc holders scan of the apps\' ports (snapshotSync)',
};
const BASELINE_OF: Readonly<Record<string, string>> = { scrape: 'scrape-baseline', status: 'status-baseline', page: 'page-baseline' };

export function partsTable(sizes: readonly SizeTiming[]): string {
  const rows = sizes.flatMap((s) => s.inProcess.map((op) => {
    const base = BASELINE_OF[op.name] ? s.inProcess.find((o) => o.name === BASELINE_OF[op.name]) : undefined;
    return [String(s.apps), PART_LABELS[op.name] ?? op.name, msText(op.wallMs.median), msText(op.wallMs.p90), usText(op.cpuUs.median),
      op.name === 'holders' ? `${op.bytes} holders` : kib(op.bytes), base ? `${ratio(op.wallMs.median, base.wallMs.median, 1)} time, ${ratio(op.bytes, base.bytes, 1)} size` : '-'];
  }));
  return table(['apps', 'in process', 'median', 'p90', 'CPU/call', 'size', 'vs baseline'], rows);
}

export function httpTable(sizes: readonly SizeTiming[]): string {
  const rows = sizes.flatMap((s) => {
    const healthz = s.http.find((o) => o.name === '/healthz');
    return s.http.map((op) => [String(s.apps), `GET ${op.name}${op.name === '/healthz' ? ' (baseline)' : ''}`, msText(op.wallMs.median), msText(op.wallMs.p90), usText(op.cpuUs.median),
      kib(op.bytes), op.name === '/healthz' || !healthz ? '-' : `${ratio(op.wallMs.median, healthz.wallMs.median, 1)} time, ${ratio(op.cpuUs.median, healthz.cpuUs.median, 1)} CPU`]);
  });
  return table(['apps', 'over loopback HTTP (MonitorWeb)', 'median', 'p90', 'CPU/request', 'body', 'vs /healthz'], rows);
}

export function rssTable(results: readonly RssResult[], apps: number): string {
  const rows = results.map((r) => [
    SIDE_LABELS[r.side], String(r.round), `${mib(r.medianKiB)} MiB`, `${mib(r.minKiB)}-${mib(r.maxKiB)} MiB`, `${mib(r.hwmKiB)} MiB`,
    `${r.cpuMsPerS.toFixed(2)} ms/s`, r.scrapes ? `${r.scrapes.ok} ok, ${r.scrapes.failed} failed, ${msText(r.scrapes.medianMs)}` : '-',
  ]);
  const med = (side: Side, f: (r: RssResult) => number): number => summarize(results.filter((r) => r.side === side).map(f)).median;
  const sign = (v: number): string => (v >= 0 ? '+' : '');
  for (const side of ['idle', 'on'] as const) {
    const dRss = med(side, (r) => r.medianKiB) - med('off', (r) => r.medianKiB);
    const dCpu = med(side, (r) => r.cpuMsPerS) - med('off', (r) => r.cpuMsPerS);
    rows.push([`${side} - off (medians of the rounds)`, '-', `${sign(dRss)}${mib(dRss)} MiB`, '-', '-', `${sign(dCpu)}${dCpu.toFixed(2)} ms/s`, '-']);
  }
  return table([`run, ${apps} apps at 1 s`, 'round', 'VmRSS median', 'min-max', 'VmHWM', 'CPU', 'scrapes in the window'], rows);
}

export function logTable(trials: readonly LogTrial[]): string {
  const groups = new Map<string, LogTrial[]>();
  for (const t of trials) groups.set(`${t.format}\u0000${t.fault}`, [...(groups.get(`${t.format}\u0000${t.fault}`) ?? []), t]);
  const rows = [...groups.values()].map((ts) => {
    const b = summarize(ts.map((t) => t.bytes));
    const l = summarize(ts.map((t) => t.lines));
    const rec = summarize(ts.map((t) => t.recordBytes));
    const other = ts[0]!.format === 'text' ? trials.filter((t) => t.format === 'json' && t.fault === ts[0]!.fault) : [];
    return [ts[0]!.format, ts[0]!.fault === 'hang' ? 'hang (SIGSTOP)' : 'crash + port squatter', `${ts.length} (${ts.map((t) => t.result).join(', ')})`,
      String(l.median), `${b.median} B (${b.min}-${b.max})`, `${rec.median} B`, other.length ? `${ratio(b.median, summarize(other.map((t) => t.bytes)).median)} of json` : '-'];
  });
  return table(['log.format', 'incident', 'n', 'lines', 'bytes per incident, median (min-max)', 'incident record line', 'text vs json'], rows);
}

const sumJson = (s: Summary, digits = 3): Record<string, number | null> => {
  const r = (v: number): number | null => (Number.isFinite(v) ? Number(v.toFixed(digits)) : null);
  return { n: s.n, median: r(s.median), p90: r(s.p90), min: r(s.min), max: r(s.max) };
};

export function opJson(op: OpResult): Record<string, unknown> {
  return { name: op.name, wallMs: sumJson(op.wallMs), cpuUs: sumJson(op.cpuUs, 0), bytes: op.bytes };
}
