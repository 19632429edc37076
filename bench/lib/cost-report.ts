/**
 * The monitor-cost benchmark's results: one row per target x size with the floor of the same size
 * beside, the DESIGN targets judged (50 apps: CPU <= 1.25x floor, RSS <= 65 MiB, slope < 1 MiB per
 * 10 min; 200 apps: CPU per probe no higher than at 50), and the JSON document.
 */
import type { CronPass } from './cost-baselines.js';
import { describeTicks, type Ticks } from './cost-apps.js';
import { perSecond, type CpuWindow, type MonitorWindow } from './cost-measure.js';
import type { TargetName } from './cost-targets.js';
import { mib, ratio, type Memory } from './proc.js';
import { jsonNumber, summarize, table } from './stats.js';

export const TARGETS = { overFloorMax: 1.25, rssMiBMax: 65, slopeMiBPer10MinMax: 1 } as const;

export interface TargetResult {
  readonly target: TargetName;
  readonly window?: MonitorWindow;
  readonly error?: string;
  /** Failure/remedy/error lines the monitor logged (the first few). */
  readonly problems: readonly string[];
}

export interface SizeResult {
  readonly apps: number;
  readonly intervalMs: number;
  readonly longMs: number;
  readonly ports: readonly [number, number];
  readonly appsStartMs: number;
  readonly floor?: CpuWindow & { passes: number; passCpuMs: number[] };
  readonly floorError?: string;
  readonly targets: TargetResult[];
  readonly bare?: { plain: Memory; connected: Memory };
  readonly cron?: CronPass[];
}

const msps = (w: CpuWindow | undefined): number => (w ? perSecond(w.cpuMs, w.wallMs) : NaN);
const daemonMsps = (w: CpuWindow | undefined): number => (w?.daemonCpuMs !== undefined ? perSecond(w.daemonCpuMs, w.wallMs) : NaN);
export const perProbe = (w: CpuWindow | undefined): number => (w && w.ticks.probes > 0 ? w.cpuMs / w.ticks.probes : NaN);
const num = (v: number, digits: number, unit = ''): string => (Number.isFinite(v) ? `${v.toFixed(digits)}${unit}` : '?');
const signed = (v: number): string => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(2)}` : '?');
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');

/** The DESIGN targets for one row, judged; [] when no target applies to this size. */
export function judge(size: SizeResult, t: TargetResult, all: readonly SizeResult[]): { name: string; met: boolean | null; text: string }[] {
  const w = t.window;
  if (!w) return [];
  if (size.apps === 50) {
    const r = msps(w) / msps(size.floor);
    return [
      { name: 'overFloor', met: Number.isFinite(r) ? r <= TARGETS.overFloorMax : null, text: `CPU <= 1.25x floor: ${Number.isFinite(r) ? verdict(r <= TARGETS.overFloorMax) : 'n/a'}` },
      { name: 'rss', met: w.rssEndKiB <= TARGETS.rssMiBMax * 1024, text: `RSS <= 65 MiB: ${verdict(w.rssEndKiB <= TARGETS.rssMiBMax * 1024)}` },
      { name: 'slope', met: w.slopeMiBPer10Min < TARGETS.slopeMiBPer10MinMax, text: `slope < 1: ${verdict(w.slopeMiBPer10Min < TARGETS.slopeMiBPer10MinMax)}` },
    ];
  }
  if (size.apps === 200) {
    const at50 = all.find((s) => s.apps === 50)?.targets.find((x) => x.target === t.target)?.window;
    if (!at50) return [{ name: 'perProbe', met: null, text: 'CPU/probe <= at 50: n/a (no 50 row)' }];
    const ok = perProbe(w) <= perProbe(at50);
    return [{ name: 'perProbe', met: ok, text: `CPU/probe <= at 50 (${num(perProbe(at50), 3)}): ${verdict(ok)}` }];
  }
  return [];
}

export const HEADER = ['target', 'apps', 'interval', 'CPU ms/s', 'floor ms/s', 'ratio', 'CPU/probe', 'ticks ok', 'RSS MiB', 'slope MiB/10min',
  'daemon ms/s (monitor)', 'daemon ms/s (floor)', 'DESIGN targets'];

export function rows(sizes: readonly SizeResult[]): string[][] {
  const out: string[][] = [];
  for (const s of sizes) {
    for (const t of s.targets) {
      const w = t.window;
      const head = [t.target, String(s.apps), `${s.intervalMs / 1000} s`];
      if (!w) {
        out.push([...head, 'failed', num(msps(s.floor), 2), '', '', '', '', '', '', '', num(daemonMsps(s.floor), 2), (t.error ?? '').split('\n')[0]!.slice(0, 80)]);
        continue;
      }
      out.push([
        ...head, num(msps(w), 2), num(msps(s.floor), 2), ratio(msps(w), msps(s.floor)), num(perProbe(w), 3, ' ms'), describeTicks(w.long.ticks),
        mib(w.rssEndKiB), signed(w.slopeMiBPer10Min), num(daemonMsps(w), 2), num(daemonMsps(s.floor), 2),
        judge(s, t, sizes).map((j) => j.text).join('; ') || '-',
      ]);
    }
  }
  return out;
}

export function notes(sizes: readonly SizeResult[]): string[] {
  const n: string[] = [];
  for (const s of sizes) {
    const f = s.floor;
    n.push(f
      ? `${s.apps} apps: floor ${f.passes} passes, ${num(perSecond(f.cpuMs, f.wallMs), 2)} CPU ms/s, ${num(perProbe(f), 3)} ms/probe, ticks ${describeTicks(f.ticks)}`
      : `${s.apps} apps: the floor failed: ${s.floorError ?? '?'}`);
    for (const t of s.targets) {
      const w = t.window;
      if (w) {
        n.push(`${s.apps} apps, ${t.target} (pid ${w.pid}): every app probed twice ${(w.readyAfterMs / 1000).toFixed(1)} s after start; CPU window ${(w.wallMs / 1000).toFixed(0)} s ticks ${describeTicks(w.ticks)} (gaps ${num(w.ticks.minGapMs, 0)}-${num(w.ticks.maxGapMs, 0)} ms); long window ${(w.long.wallMs / 60_000).toFixed(1)} min: ${num(perSecond(w.long.cpuMs, w.long.wallMs), 2)} CPU ms/s, VmRSS ${mib(w.rssStartKiB)} -> ${mib(w.rssEndKiB)} MiB (max ${mib(w.rssMaxKiB)}, VmHWM ${mib(w.hwmEndKiB)})`);
      } else {
        n.push(`${s.apps} apps, ${t.target}: FAILED: ${t.error ?? '?'}`);
      }
      if (t.problems.length) n.push(`  the ${t.target} monitor logged ${t.problems.length} failure/remedy/warning line(s), e.g. ${t.problems[0]}`);
    }
    if (s.bare) n.push(`${s.apps} apps: bare node + pm2, axios, winston ${mib(s.bare.plain.rssKiB)} MiB VmRSS; + pm2.connect() + list() ${mib(s.bare.connected.rssKiB)} MiB`);
    if (s.cron?.length) n.push(`${s.apps} apps: cron script (pm2 jlist + ${s.apps} x curl) median ${num(summarize(s.cron.map((c) => c.cpuMs)).median, 0)} CPU ms per pass`);
  }
  return n;
}

const ticksJson = (t: Ticks): Record<string, unknown> => ({
  ...t, perAppPerInterval: Math.round(t.perAppPerInterval * 10_000) / 10_000, windowMs: Math.round(t.windowMs),
  minGapMs: jsonNumber(t.minGapMs), maxGapMs: jsonNumber(t.maxGapMs), minPerApp: jsonNumber(t.minPerApp), maxPerApp: jsonNumber(t.maxPerApp),
});
/** JSON-safe with 3 decimals (per-second and per-probe figures are small). */
const r3 = (v: number): number | null => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null);
const cpuJson = (w: CpuWindow): Record<string, unknown> => ({
  wallMs: Math.round(w.wallMs), cpuMs: jsonNumber(w.cpuMs), cpuMsPerS: r3(msps(w)), cpuMsPerProbe: r3(perProbe(w)),
  daemonCpuMs: w.daemonCpuMs === undefined ? null : jsonNumber(w.daemonCpuMs), daemonCpuMsPerS: r3(daemonMsps(w)),
  ticks: ticksJson(w.ticks),
});

export function sizesJson(sizes: readonly SizeResult[]): Record<string, unknown>[] {
  return sizes.map((s) => ({
    apps: s.apps, intervalMs: s.intervalMs, longWindowMs: s.longMs, ports: s.ports, appsStartMs: Math.round(s.appsStartMs),
    floor: s.floor ? { ...cpuJson(s.floor), passes: s.floor.passes, passCpuMedianMs: jsonNumber(summarize(s.floor.passCpuMs).median) } : { error: s.floorError ?? null },
    targets: s.targets.map((t) => {
      const w = t.window;
      return {
        target: t.target,
        ...(w ? {
          pid: w.pid, readyAfterMs: Math.round(w.readyAfterMs), cpu: cpuJson(w), long: cpuJson(w.long),
          overFloor: r3(msps(w) / msps(s.floor)),
          rssKiB: { start: w.rssStartKiB, end: w.rssEndKiB, max: w.rssMaxKiB, hwmEnd: w.hwmEndKiB },
          slopeMiBPer10Min: r3(w.slopeMiBPer10Min),
          rssSamples: w.rssSamples,
          targets: Object.fromEntries(judge(s, t, sizes).map((j) => [j.name, j.met])),
        } : { error: t.error ?? null }),
        problems: t.problems.slice(0, 20),
      };
    }),
    ...(s.bare ? { bareShellKiB: { plain: s.bare.plain.rssKiB, connected: s.bare.connected.rssKiB } } : {}),
    ...(s.cron ? { cron: s.cron.map((c) => ({ cpuMs: jsonNumber(c.cpuMs), jlistCpuMs: jsonNumber(c.jlistCpuMs), curlCpuMs: jsonNumber(c.curlCpuMs), wallMs: jsonNumber(c.wallMs) })) } : {}),
  }));
}

export const renderTable = (sizes: readonly SizeResult[]): string => table(HEADER, rows(sizes));
