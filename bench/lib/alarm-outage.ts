/**
 * CPU while the alarm table's server is down: the engine watches one healthy app in this process,
 * the server is stopped, and the process's CPU is read over equal windows: idle (no poller), an
 * AlarmPoller at interval 2 s, one at the default interval (5 min), idle again. Each poller counts
 * its connection attempts (every poll of an empty pool opens one connection) and the alarm
 * trigger's log lines: one "down" line per poller is the expected story.
 */
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { retryMs } from '../../src/alarms/outage.js';
import type { AlarmPoller } from '../../src/alarms/poller.js';
import type { TestMonitor } from '../../test/helpers/monitor.js';
import { CLK_TCK } from './proc.js';
import { alarmLines, alarmsConfig, fullGc, SourceRecord, sleep, startPoller, type DbTarget, type PollStamp } from './alarm-rig.js';

export type WindowKind = 'idle' | 'poller';

export interface OutageWindow {
  readonly label: string;
  readonly kind: WindowKind;
  readonly startMs: number;
  /** The poller's interval (ms) and reconnect cap, for poller windows. */
  readonly intervalMs?: number;
  readonly reconnectMaxMs?: number;
  readonly wallMs: number;
  /** process.cpuUsage() user + system over the window, ms. */
  readonly cpuMs: number;
  /** CPU ms in each second of the window. */
  readonly perSecondMs: readonly number[];
  /** Where the CPU went: the main thread's share, GC pauses, the engine's own log lines. */
  readonly mainThreadCpuMs: number;
  readonly gcPauseMs: number;
  readonly gcs: number;
  readonly engineLines: number;
  /** Connection attempts (polls), their outcomes, and what the backoff schedule predicts. */
  readonly attempts?: number;
  readonly failedAttempts?: number;
  readonly codes?: readonly string[];
  readonly expectedAttempts?: readonly [number, number];
  readonly attemptGapsMs?: readonly number[];
  /** CPU of each attempt, measured around it (µs): robust to one-offs elsewhere in the window. */
  readonly attemptCpuUs?: readonly number[];
  /** The alarm trigger's log lines in the window. */
  readonly lines: readonly string[];
  readonly downLines: number;
}

/** Attempts within `windowMs` by the poller's schedule (outage.ts) with every jitter draw at `rand`. */
function attemptsAt(windowMs: number, intervalMs: number, capMs: number, rand: number): number {
  let t = 0;
  let n = 0;
  while (t < windowMs) {
    n++;
    t += retryMs(n, Math.min(capMs, Math.max(intervalMs, 1000)), rand);
  }
  return n;
}

/** The fewest and most attempts the schedule allows in `windowMs` (jitter shortens a wait by up to 20 %). */
export function expectedAttempts(windowMs: number, intervalMs: number, capMs: number): [number, number] {
  return [attemptsAt(windowMs, intervalMs, capMs, 0), attemptsAt(windowMs, intervalMs, capMs, 0.999_999)];
}

export interface OutageContext {
  readonly monitor: TestMonitor;
  readonly db: DbTarget;
  readonly windowMs: number;
  readonly progress: (text: string) => void;
}

/** utime + stime of this process's main thread (10 ms ticks): the rest of the CPU is V8's and libuv's helper threads. */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

interface CpuReading {
  /** performance.now() at the start (to line up with --trace-gc's times). */
  readonly startMs: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly perSecondMs: number[];
  readonly mainThreadCpuMs: number;
  /** GC pauses on the main thread in the window (PerformanceObserver 'gc'), ms, and how many. */
  readonly gcPauseMs: number;
  readonly gcs: number;
  /** The engine's own lines in the window (not the alarm trigger's): 0 for a quiet engine. */
  readonly engineLines: number;
}

/**
 * Before each window: a full GC, so no garbage of what came before is collected (and billed) in
 * it, then SETTLE_MS of rest. A full GC in a quiet process arms V8's memory reducer, which about
 * 8 s later may run mark-compacts of its own ("Mark-Compact (reduce)" under --trace-gc, 50-110 ms
 * of CPU, mostly on helper threads): they must land in the rest, not in the window.
 */
export const SETTLE_MS = 12_000;

/** Settle, then the CPU over the window; `begin` runs inside it (a poller's start is billed). */
async function cpuWindow(c: OutageContext, label: string, begin?: () => void): Promise<CpuReading> {
  fullGc();
  c.progress(`${label}: settling ${SETTLE_MS / 1000} s after a full GC`);
  await sleep(SETTLE_MS);
  let gcPauseMs = 0;
  let gcs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcPauseMs += e.duration;
      gcs++;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const mark = c.monitor.lines.length;
  const main0 = mainThreadCpuMs();
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  begin?.();
  const perSecondMs: number[] = [];
  let last = c0;
  // One sample a second (drift shows in the JSON); progress every 5 s in every window alike.
  for (let s = 0; s * 1000 < c.windowMs; s++) {
    if (s % 5 === 0) c.progress(`${label}: ${s}/${c.windowMs / 1000} s`);
    await sleep(Math.min(1000, c.windowMs - s * 1000));
    const now = process.cpuUsage();
    perSecondMs.push(Math.round((now.user - last.user + now.system - last.system) / 100) / 10);
    last = now;
  }
  const wallMs = performance.now() - w0;
  const cpu = process.cpuUsage(c0);
  const main = mainThreadCpuMs() - main0;
  gcObserver.disconnect();
  const engineLines = c.monitor.lines.slice(mark).filter((l) => !l.includes('alarm table')).length;
  return { startMs: Math.round(w0), wallMs, cpuMs: (cpu.user + cpu.system) / 1000, perSecondMs, mainThreadCpuMs: main, gcPauseMs, gcs, engineLines };
}

export async function idleWindow(c: OutageContext, label: string): Promise<OutageWindow> {
  const mark = c.monitor.lines.length;
  const w = await cpuWindow(c, label);
  const lines = alarmLines(c.monitor.lines.slice(mark));
  return { label, kind: 'idle', ...w, lines, downLines: lines.filter((l) => l.includes('database down')).length };
}

/** A poller with `extra` config beside the engine for one window; its lines and attempts. */
export async function pollerWindow(c: OutageContext, label: string, extra: Record<string, unknown>): Promise<OutageWindow> {
  const cfg = alarmsConfig(c.db, extra);
  const rec = new SourceRecord();
  const mark = c.monitor.lines.length;
  let poller: AlarmPoller | undefined;
  const w = await cpuWindow(c, label, () => {
    poller = startPoller(c.monitor, cfg, rec);
  });
  const polls: PollStamp[] = [...rec.polls];
  await poller?.stop();
  const lines = alarmLines(c.monitor.lines.slice(mark));
  return {
    label, kind: 'poller', intervalMs: cfg.intervalMs, reconnectMaxMs: cfg.reconnectMaxMs,
    ...w,
    attempts: polls.length, failedAttempts: polls.filter((p) => !p.ok).length,
    codes: [...new Set(polls.flatMap((p) => (p.code ? [p.code] : [])))],
    expectedAttempts: expectedAttempts(w.wallMs, cfg.intervalMs, cfg.reconnectMaxMs),
    attemptGapsMs: polls.slice(1).map((p, i) => Math.round(p.startMs - polls[i]!.startMs)),
    attemptCpuUs: polls.map((p) => p.cpuUs),
    lines, downLines: lines.filter((l) => l.includes('database down')).length,
  };
}
