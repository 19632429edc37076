/**
 * The measuring windows of the monitor-cost benchmark. The floor runs in this process; a monitor
 * (run or module) is read from /proc: CPU (utime+stime) over the CPU window, VmRSS every second
 * over the long window that contains it, the PM2 daemon's CPU beside. Probe counts and ticks come
 * from the apps' own stamps afterwards.
 */
import http from 'node:http';
import type { Pm2Port } from '../../src/pm2/adapter.js';
import { analyseTicks, get, stampsSince, type Ticks } from './cost-apps.js';
import type { Watcher } from './cost-targets.js';
import { cpuMsOf, memoryOf, mib } from './proc.js';
import { leastSquaresSlope } from './stats.js';

const sleep = (msec: number): Promise<void> => new Promise((r) => setTimeout(r, msec));

export interface WindowOptions {
  readonly ports: readonly number[];
  readonly intervalMs: number;
  readonly warmupMs: number;
  /** The CPU window. */
  readonly durationMs: number;
  readonly daemonPid: number | undefined;
  readonly progress: (text: string) => void;
}

export interface CpuWindow {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly daemonCpuMs?: number;
  /** Probes the apps counted in the window, and how regular they were. */
  readonly ticks: Ticks;
}

export const perSecond = (cpuMs: number, wallMs: number): number => (cpuMs * 1000) / wallMs;

/** The floor: pm2.list() + one keep-alive GET /health per app, every interval, in this process. */
export async function measureFloor(pm2: Pm2Port, o: WindowOptions): Promise<CpuWindow & { passes: number; passCpuMs: number[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const pass = async (): Promise<void> => {
    await pm2.list();
    const bad = (await Promise.all(o.ports.map((p) => get(p, '/health', agent)))).filter((a) => a.status !== 200).length;
    if (bad) throw new Error(`floor: ${bad} app(s) did not answer 200`);
  };
  // Fixed rate: passes start one interval apart.
  const loop = async (lengthMs: number, label: string): Promise<number[]> => {
    const t0 = performance.now();
    const cpu: number[] = [];
    while (performance.now() - t0 < lengthMs) {
      const start = performance.now();
      const u = process.cpuUsage();
      await pass();
      const du = process.cpuUsage(u);
      cpu.push((du.user + du.system) / 1000);
      o.progress(`floor: ${((performance.now() - t0) / 1000) | 0}/${lengthMs / 1000} s, ${cpu.length} passes${label}`);
      await sleep(Math.max(0, start + o.intervalMs - performance.now()));
    }
    return cpu;
  };
  try {
    await loop(o.warmupMs, ' (warm-up)');
    const d0 = o.daemonPid ? cpuMsOf(o.daemonPid) : undefined;
    const w0 = Date.now();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const passCpuMs = await loop(o.durationMs, '');
    const c = process.cpuUsage(c0);
    const wallMs = performance.now() - t0;
    const w1 = Date.now();
    const d1 = o.daemonPid ? cpuMsOf(o.daemonPid) : undefined;
    const ticks = analyseTicks(await stampsSince(o.ports, w0), w0, w1, o.intervalMs);
    return {
      wallMs, cpuMs: (c.user + c.system) / 1000, passes: passCpuMs.length, passCpuMs, ticks,
      ...(d0 !== undefined && d1 !== undefined ? { daemonCpuMs: d1 - d0 } : {}),
    };
  } finally {
    agent.destroy();
  }
}

export interface MonitorWindow extends CpuWindow {
  readonly pid: number;
  readonly readyAfterMs: number;
  /** The whole long window (it starts with the CPU window). */
  readonly long: CpuWindow;
  readonly rssStartKiB: number;
  readonly rssEndKiB: number;
  readonly rssMaxKiB: number;
  readonly hwmEndKiB: number;
  /** Least-squares slope of VmRSS over the long window, MiB per 10 min. */
  readonly slopeMiBPer10Min: number;
  /** [seconds into the long window, VmRSS KiB] every second. */
  readonly rssSamples: [number, number][];
}

/**
 * Wait until every app has had two probes from the watcher, warm up, then measure: CPU over
 * `durationMs`, VmRSS each second over `longMs` (>= durationMs), both from the window's start.
 */
export async function measureWatcher(w: Watcher, o: WindowOptions & { longMs: number }): Promise<MonitorWindow> {
  const check = (): void => {
    w.poll();
    if (!w.alive()) throw new Error(`the monitor stopped (${w.describe()}): ${w.lastLines(5).join(' | ')}`);
  };
  const until = performance.now() + 90_000 + 3 * o.intervalMs;
  for (;;) {
    check();
    const counts = (await stampsSince(o.ports, w.startedAt)).map((s) => s?.length ?? 0);
    const ready = counts.filter((n) => n >= 2).length;
    if (ready === o.ports.length) break;
    if (performance.now() > until) throw new Error(`only ${ready}/${o.ports.length} apps probed twice by the ${w.target} monitor after 90 s`);
    o.progress(`${w.target}: ${ready}/${o.ports.length} apps probed twice`);
    await sleep(500);
  }
  const readyAfterMs = Date.now() - w.startedAt;
  for (const end = performance.now() + o.warmupMs; performance.now() < end;) {
    check();
    o.progress(`${w.target}: all apps probed after ${(readyAfterMs / 1000).toFixed(1)} s; warming up`);
    await sleep(Math.min(1000, Math.max(0, end - performance.now())));
  }

  const cpu = (): number | undefined => cpuMsOf(w.pid);
  const daemon = (): number | undefined => (o.daemonPid ? cpuMsOf(o.daemonPid) : undefined);
  const rss0 = memoryOf(w.pid);
  const [c0, d0, w0, t0] = [cpu(), daemon(), Date.now(), performance.now()];
  let cpuEnd: { c?: number; d?: number; wall: number; at: number } | undefined;
  const samples: [number, number][] = [];
  while (performance.now() - t0 < o.longMs) {
    await sleep(1000 - ((performance.now() - t0) % 1000));
    check();
    const elapsed = performance.now() - t0;
    if (!cpuEnd && elapsed >= o.durationMs - 5) cpuEnd = { c: cpu(), d: daemon(), wall: elapsed, at: Date.now() };
    const m = memoryOf(w.pid);
    if (m) samples.push([Math.round(elapsed) / 1000, m.rssKiB]);
    o.progress(`${w.target}: ${(elapsed / 1000) | 0}/${o.longMs / 1000} s${cpuEnd ? '' : ` (CPU window ${o.durationMs / 1000} s)`}, VmRSS ${m ? mib(m.rssKiB) : '?'} MiB`);
  }
  const [c2, d2, w2, wall2] = [cpu(), daemon(), Date.now(), performance.now() - t0];
  const end = memoryOf(w.pid);
  check();
  const stamps = await stampsSince(o.ports, w0);
  const ce = cpuEnd ?? { c: c2, d: d2, wall: wall2, at: w2 };
  if (c0 === undefined || ce.c === undefined || c2 === undefined) throw new Error(`cannot read /proc/${w.pid}/stat`);
  const both = (a?: number, b?: number): { daemonCpuMs?: number } => (a !== undefined && b !== undefined ? { daemonCpuMs: b - a } : {});
  const rss = samples.map((s) => s[1]);
  return {
    pid: w.pid, readyAfterMs,
    wallMs: ce.wall, cpuMs: ce.c - c0, ...both(d0, ce.d), ticks: analyseTicks(stamps, w0, ce.at, o.intervalMs),
    long: { wallMs: wall2, cpuMs: c2 - c0, ...both(d0, d2), ticks: analyseTicks(stamps, w0, w2, o.intervalMs) },
    rssStartKiB: rss0?.rssKiB ?? NaN, rssEndKiB: end?.rssKiB ?? NaN, rssMaxKiB: Math.max(...rss, rss0?.rssKiB ?? 0), hwmEndKiB: end?.hwmKiB ?? NaN,
    slopeMiBPer10Min: leastSquaresSlope(samples.map((s) => s[0]), rss.map((k) => k / 1024)) * 600,
    rssSamples: samples,
  };
}
