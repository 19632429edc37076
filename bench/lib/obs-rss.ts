/**
 * Memory of the real `run` (node dist/src/cli/index.js run) with the status server on and off:
 * three monitors at once, on the same apps under the lab's PM2, the same settings, each with its
 * own state_dir: `off` has no http: block; `idle` has one and is never asked anything (what the
 * server and prom-client's default metrics cost by themselves); `on` has one and is scraped
 * (GET /metrics, a new connection each time) every `everyMs` from its start, as Prometheus would.
 * After a warm-up, VmRSS of each is sampled every `everyMs` over the window (median), with VmHWM
 * and CPU (utime + stime) over the window. Fresh processes every round; the start order rotates.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import YAML from 'yaml';
import type { Lab, LabApp } from './lab.js';
import { MonitorChild } from './monitor-child.js';
import { PROBLEM } from './cost-targets.js';
import { cpuMsOf, memoryOf } from './proc.js';
import { summarize } from './stats.js';

export type Side = 'off' | 'idle' | 'on';
export const SIDES: readonly Side[] = ['off', 'idle', 'on'];

export interface RssResult {
  readonly side: Side;
  readonly round: number;
  readonly pid: number;
  readonly samplesKiB: readonly number[];
  readonly medianKiB: number;
  readonly minKiB: number;
  readonly maxKiB: number;
  /** VmHWM at the end of the window. */
  readonly hwmKiB: number;
  readonly cpuMsPerS: number;
  /** The scrapes of the window (side on). */
  readonly scrapes?: { readonly ok: number; readonly failed: number; readonly medianMs: number; readonly bytes: number };
  readonly problems: readonly string[];
}

export interface RssOptions {
  readonly apps: readonly LabApp[];
  /** The status server's port of `on`, and of `idle`. */
  readonly httpPort: number;
  readonly idlePort: number;
  readonly rounds: number;
  readonly warmupMs: number;
  readonly windowMs: number;
  readonly everyMs: number;
  readonly progress: (t: string) => void;
}

/** The monitors this module started and has not stopped (for the bench's cleanup). */
const running = new Set<MonitorChild>();

export async function stopRssMonitors(): Promise<void> {
  await Promise.all([...running].map((m) => m.stop()));
  running.clear();
}

function scrape(port: number): Promise<{ ms: number; bytes: number } | undefined> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(res.statusCode === 200 ? { ms: performance.now() - t0, bytes: n } : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.setTimeout(5000, () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

function writeConfig(lab: Lab, o: RssOptions, side: Side, round: number): string {
  const file = join(lab.home, `rss-${side}-${round}.yaml`);
  writeFileSync(file, YAML.stringify({
    state_dir: join(lab.home, `rss-state-${side}-${round}`),
    ...(side === 'off' ? {} : { http: { port: side === 'on' ? o.httpPort : o.idlePort } }),
    apps: o.apps.map((a) => ({
      name: a.name, health: { url: `http://127.0.0.1:${a.port}/health`, interval: '1s', timeout: '500ms', failure_threshold: 3 },
      startup_grace: '1s', ports: [a.port],
    })),
  }));
  return file;
}

export async function measureRss(lab: Lab, o: RssOptions): Promise<RssResult[]> {
  const results: RssResult[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    const order = SIDES.map((_, k) => SIDES[(k + round - 1) % SIDES.length]!);
    const monitors = new Map<Side, MonitorChild>();
    const problems = new Map<Side, string[]>(SIDES.map((s) => [s, []]));
    for (const side of order) {
      const m = new MonitorChild({ configPath: writeConfig(lab, o, side, round), env: lab.sb!.env, onLine: (t) => void (PROBLEM.test(t) && problems.get(side)!.push(t)) });
      running.add(m);
      monitors.set(side, m);
    }
    await monitors.get('on')!.waitFor(/status server on http/, 30_000, 0);
    await monitors.get('idle')!.waitFor(/status server on http/, 30_000, 0);
    const scrapes: { ms: number; bytes: number }[] = [];
    let failed = 0;
    let inWindow = false;
    const timer = setInterval(() => {
      void scrape(o.httpPort).then((s) => {
        if (!inWindow) return;
        if (s) scrapes.push(s);
        else failed++;
      });
    }, o.everyMs);
    try {
      const t0 = performance.now();
      while (performance.now() - t0 < o.warmupMs) {
        o.progress(`  round ${round}/${o.rounds}: warm-up ${Math.round((performance.now() - t0) / 1000)}/${o.warmupMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 1000));
      }
      inWindow = true;
      const cpu0 = new Map([...monitors].map(([s, m]) => [s, cpuMsOf(m.pid) ?? NaN]));
      const samples = new Map<Side, number[]>(SIDES.map((s) => [s, []]));
      const w0 = performance.now();
      for (let k = 0; performance.now() - w0 <= o.windowMs; k++) {
        for (const [s, m] of monitors) {
          const mem = memoryOf(m.pid);
          if (!mem || !m.running) throw new Error(`the ${s} monitor (pid ${m.pid}) is gone: ${m.describeExit()}; last lines:\n${m.lines.slice(-10).map((l) => l.text).join('\n')}`);
          samples.get(s)!.push(mem.rssKiB);
        }
        o.progress(`  round ${round}/${o.rounds}: window ${Math.round((performance.now() - w0) / 1000)}/${o.windowMs / 1000} s`);
        const next = w0 + (k + 1) * o.everyMs;
        await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
      }
      const wallS = (performance.now() - w0) / 1000;
      inWindow = false;
      for (const [side, m] of monitors) {
        const xs = samples.get(side)!;
        const s = summarize(xs);
        const sc = summarize(scrapes.map((x) => x.ms));
        results.push({
          side, round, pid: m.pid, samplesKiB: xs, medianKiB: s.median, minKiB: s.min, maxKiB: s.max, hwmKiB: memoryOf(m.pid)?.hwmKiB ?? NaN,
          cpuMsPerS: ((cpuMsOf(m.pid) ?? NaN) - cpu0.get(side)!) / wallS,
          ...(side === 'on' ? { scrapes: { ok: scrapes.length, failed, medianMs: sc.median, bytes: scrapes.at(-1)?.bytes ?? 0 } } : {}),
          problems: problems.get(side)!.slice(0, 20),
        });
      }
    } finally {
      clearInterval(timer);
      for (const m of monitors.values()) {
        await m.stop();
        running.delete(m);
      }
    }
  }
  return results;
}
