/**
 * The sustained-CPU rule: the app's CPU use between two checks, from the kernel's own counters
 * (utime + stime in /proc/<pid>/stat), not PM2's sampled `monit.cpu`. Above `above` percent of
 * one core for `for` checks in a row is over; a short spike resets the count, as the memory rule
 * does. A process counts only between two samples of the same process (pid and start time), so
 * a new child or a reused pid never brings CPU time it spent before we saw it.
 */
import { readStat } from '../proc/read.js';
import { descendants } from '../proc/tree.js';

/**
 * Clock ticks per second in /proc/<pid>/stat: USER_HZ, which the kernel fixes at 100 on every
 * architecture Node runs on (x86, arm, arm64, ppc64, s390x), whatever its internal HZ.
 */
export const USER_HZ = 100;

export type CpuOutcome =
  | { readonly ok: true; readonly percent: number | undefined; readonly above: number }
  | { readonly ok: false; readonly percent: number; readonly above: number; readonly detail: string };

/** One process's CPU counter at one moment. */
export interface CpuSample {
  readonly pid: number;
  readonly startTicks: number;
  readonly cpuTicks: number;
}

/** The counters of the pids (and their descendants); gone processes are left out. */
export function cpuSamples(pids: readonly number[], includeChildren: boolean): CpuSample[] {
  const all = new Set(pids.filter((p) => p > 0));
  if (includeChildren) for (const d of descendants([...all])) all.add(d);
  const out: CpuSample[] = [];
  for (const pid of all) {
    const s = readStat(pid);
    if (s) out.push({ pid, startTicks: s.startTicks, cpuTicks: s.cpuTicks });
  }
  return out;
}

export class CpuTracker {
  private above = 0;
  private last: { at: number; samples: Map<number, CpuSample> } | undefined;

  constructor(
    private readonly abovePercent: number,
    private readonly forChecks: number,
  ) {}

  /** Feed one set of samples taken at monotonic time `now` (ms). The first one only sets the baseline. */
  observe(now: number, samples: readonly CpuSample[]): CpuOutcome {
    const prev = this.last;
    this.last = { at: now, samples: new Map(samples.map((s) => [s.pid, s])) };
    const elapsedMs = prev ? now - prev.at : 0;
    if (!prev || elapsedMs <= 0) return { ok: true, percent: undefined, above: this.above };
    let ticks = 0;
    for (const s of samples) {
      const before = prev.samples.get(s.pid);
      if (before && before.startTicks === s.startTicks) ticks += Math.max(0, s.cpuTicks - before.cpuTicks);
    }
    const percent = (ticks / USER_HZ) * 100_000 / elapsedMs;
    this.above = percent > this.abovePercent ? this.above + 1 : 0;
    if (this.above < this.forChecks) return { ok: true, percent, above: this.above };
    return {
      ok: false, percent, above: this.above,
      detail: `cpu ${percent.toFixed(0)}% of a core above ${this.abovePercent}% for ${this.above} checks in a row`,
    };
  }

  /** A new instance: count from zero and take a new baseline. */
  reset(): void {
    this.above = 0;
    this.last = undefined;
  }
}
