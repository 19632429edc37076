/**
 * `npm run bench:probe`: what one HTTP probe client costs on the hot path. N real loopback apps
 * (one child process each) are probed once per interval by each client variant in turn, in
 * rounds of one window per variant, the order shuffled each round (fixed seed) so that machine
 * noise and the heap state one variant leaves to the next hit every variant alike; it reports
 * per variant the median CPU per second (process.cpuUsage), the heap allocated per probe and the
 * heap/RSS growth of its windows, and the CPU ratio to plain node:http.
 * Prints a table and writes JSON to bench/results/. See bench/README.md, "probe clients".
 */
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { HealthConfig } from '../src/config/schema.js';
import type { HttpProber } from '../src/probes/http.js';
import { benchFlags, runBench } from './lib/args.js';
import { machine, ratio, writeResults } from './lib/proc.js';
import { startApps, stopApps, totalHits } from './lib/probe-apps.js';
import { mulberry32, shuffled } from './lib/shuffle.js';
import { loadVariants, type Variant } from './lib/probe-variants.js';
import { Output } from './lib/progress.js';
import { jsonNumber, summarize, table } from './lib/stats.js';

const HELP = `Usage: npm run bench:probe -- [--apps N] [--duration S] [--interval-ms MS] [--window S] [--variants LIST] [--quick]

CPU and memory of probing N loopback apps once per interval with each HTTP client: axios as
shipped before issue 11, axios tuned, undici's request(), plain node:http, and the shipped
src/probes/http.ts. All keep connections alive and hold a whole-answer deadline.

  --apps N          apps (child processes, one HTTP server each) (default 50)
  --duration S      measured probing per variant, in seconds (default 30)
  --interval-ms MS  time between passes over all apps (default 1000)
  --window S        measured seconds per variant per round; rounds = duration / window (default 5)
  --variants LIST   only these, comma-separated: axios, axios-tuned, undici, node-http, shipped
  --quick           a smoke run: 10 apps, 4 s per variant in windows of 2 s
`;

const { values: opts } = parseArgs({
  options: {
    apps: { type: 'string', default: '50' },
    duration: { type: 'string', default: '30' },
    'interval-ms': { type: 'string', default: '1000' },
    window: { type: 'string', default: '5' },
    variants: { type: 'string' },
    quick: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
const intArg = benchFlags(HELP, opts.help);
const APPS = opts.quick ? 10 : intArg('apps', opts.apps, 1);
const DURATION_S = opts.quick ? 4 : intArg('duration', opts.duration, 1);
const INTERVAL_MS = intArg('interval-ms', opts['interval-ms'], 50);
const WINDOW_S = opts.quick ? 2 : intArg('window', opts.window, 1);
/** Passes per measured window and rounds: every variant gets `ROUNDS` windows of `PASSES` passes. */
const PASSES = Math.max(1, Math.round((WINDOW_S * 1000) / INTERVAL_MS));
const ROUNDS = Math.max(1, Math.ceil(DURATION_S / WINDOW_S));
const TIMEOUT_MS = 500;

const out = new Output(process.stderr);
const children: ChildProcess[] = [];
const sleep = (msec: number): Promise<void> => new Promise((r) => setTimeout(r, msec));

// A forced full GC around each window separates what a window allocated from what it kept.
v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface WindowResult {
  readonly probes: number;
  readonly failures: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Heap allocated in the window: used heap growth plus everything the window's GCs freed. */
  readonly allocatedBytes: number;
  /** Used heap after a full GC at the end minus the same at the start: what the window kept. */
  readonly retainedBytes: number;
  readonly rssDeltaBytes: number;
  readonly gcs: number;
  /** Of those, scavenges of the young generation (the rest: mark-sweep steps and weak callbacks). */
  readonly scavenges: number;
  readonly gcMs: number;
}

const usedHeap = (): number => v8.getHeapStatistics().used_heap_size;
let firstFailure: string | undefined;

/** One pass: every app once, all at once (what the monitor does with a wide limiter). */
async function pass(prober: HttpProber, healths: readonly HealthConfig[]): Promise<number> {
  const outcomes = await Promise.all(healths.map((h) => prober.probe(h)));
  let failures = 0;
  for (const o of outcomes) {
    if (o.ok) continue;
    failures++;
    firstFailure ??= `${o.failure}: ${o.detail}`;
  }
  return failures;
}

/** Passes at a fixed rate, like the monitor; `measure` wraps them in CPU and heap readings. */
async function runPasses(prober: HttpProber, healths: readonly HealthConfig[], passes: number): Promise<number> {
  let failures = 0;
  for (let i = 0; i < passes; i++) {
    const start = performance.now();
    failures += await pass(prober, healths);
    await sleep(Math.max(0, start + INTERVAL_MS - performance.now()));
  }
  return failures;
}

async function measuredWindow(prober: HttpProber, healths: readonly HealthConfig[]): Promise<WindowResult> {
  // One unmeasured pass: a socket the server or the agent dropped while resting is reopened here.
  await runPasses(prober, healths, 1);
  gc();
  const rss0 = process.memoryUsage.rss();
  const used0 = usedHeap();
  const profiler = new v8.GCProfiler();
  profiler.start();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const failures = await runPasses(prober, healths, PASSES);
  const c = process.cpuUsage(c0);
  const wallMs = performance.now() - t0;
  const used1 = usedHeap();
  const rss1 = process.memoryUsage.rss();
  const stats = profiler.stop().statistics;
  const freed = stats.reduce((sum, s) => sum + s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize, 0);
  gc();
  return {
    probes: PASSES * healths.length, failures, wallMs, cpuMs: (c.user + c.system) / 1000,
    allocatedBytes: used1 - used0 + freed, retainedBytes: usedHeap() - used0, rssDeltaBytes: rss1 - rss0,
    gcs: stats.length, scavenges: stats.filter((x) => x.gcType === 'Scavenge').length, gcMs: stats.reduce((sum, s) => sum + s.cost, 0) / 1000,
  };
}

interface Row {
  readonly variant: Variant;
  readonly prober: HttpProber;
  readonly windows: WindowResult[];
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const started = performance.now();
  const loaded = await loadVariants();
  const only = opts.variants?.split(',').map((k) => k.trim());
  const unknown = only?.filter((k) => !loaded.variants.some((v) => v.key === k) && !loaded.skipped.some((v) => v.key === k)) ?? [];
  if (unknown.length) {
    out.line(`--variants: unknown ${unknown.join(', ')}\n${HELP}`);
    return 2;
  }
  const variants = loaded.variants.filter((v) => !only || only.includes(v.key));
  const skipped = loaded.skipped.filter((v) => !only || only.includes(v.key));
  out.line(`probe-clients benchmark: ${APPS} apps, a pass every ${INTERVAL_MS} ms, ${ROUNDS} round(s) of ${PASSES} measured pass(es) per variant, ${variants.length} variants, ${cpus().length} CPU(s), node ${process.version}`);
  for (const s of skipped) out.line(`  skipped ${s.label}: ${s.why}`);

  const t0 = performance.now();
  const ports = await startApps(APPS, children, (text) => out.progress(text, 5000));
  out.done();
  out.line(`  ${APPS} apps listening on 127.0.0.1 (pids ${children[0]?.pid}-${children[children.length - 1]?.pid}) after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const healths: HealthConfig[] = ports.map((port) => ({
    url: `http://127.0.0.1:${port}/health`, timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, failureThreshold: 3,
    expectStatus: [200], maxBodyBytes: 64 * 1024, followRedirects: false,
  }));

  const rows: Row[] = variants.map((variant) => ({ variant, prober: variant.create(), windows: [] }));
  const hits0 = await totalHits(ports);
  // Warm-up: every variant loads its modules, JIT-compiles its hot path and opens its sockets.
  for (const r of rows) {
    out.progress(`warm-up: ${r.variant.label}`, 5000);
    await runPasses(r.prober, healths, 3);
  }
  let sent = rows.length * 3 * APPS;
  const random = mulberry32(11);
  const orders: string[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = shuffled(rows, random);
    orders.push(order.map((r) => r.variant.key));
    for (const r of order) {
      out.progress(`round ${round + 1}/${ROUNDS}: ${r.variant.label}`, 10_000);
      r.windows.push(await measuredWindow(r.prober, healths));
      sent += (PASSES + 1) * APPS;
    }
  }
  out.done();
  for (const r of rows) r.prober.close();
  const answered = (await totalHits(ports)) - hits0;

  // Report: medians over each variant's windows.
  const med = (r: Row, f: (w: WindowResult) => number): number => summarize(r.windows.map(f)).median;
  const cpuPerS = (w: WindowResult): number => w.cpuMs / (w.wallMs / 1000);
  const floor = rows.find((r) => r.variant.key === 'node-http');
  const floorCpu = floor ? med(floor, cpuPerS) : NaN;
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)}`;
  const body = rows.map((r) => {
    const cpu = summarize(r.windows.map(cpuPerS));
    return [
      r.variant.label,
      cpu.median.toFixed(2), `${cpu.min.toFixed(2)}-${cpu.max.toFixed(2)}`,
      (med(r, (w) => (w.cpuMs * 1000) / w.probes)).toFixed(0),
      ratio(cpu.median, floorCpu),
      kib(med(r, (w) => w.allocatedBytes / w.probes)),
      kib(med(r, (w) => w.retainedBytes)),
      kib(med(r, (w) => w.rssDeltaBytes)),
      `${med(r, (w) => w.scavenges).toFixed(1)} / ${med(r, (w) => w.gcs - w.scavenges).toFixed(1)}`,
      String(r.windows.reduce((n, w) => n + w.failures, 0)),
    ];
  });
  const text = table(
    ['variant', 'CPU ms/s', 'min-max', 'CPU us/probe', 'vs node:http', 'heap KiB/probe', 'heap kept KiB/window', 'RSS KiB/window', 'GCs/window minor / other', 'failed'],
    body,
  );
  const notes = [
    `${APPS} apps, one pass over all of them every ${INTERVAL_MS} ms (all in parallel), deadline ${TIMEOUT_MS} ms; medians over ${ROUNDS} window(s) of ${PASSES} pass(es) per variant, variant order shuffled each round`,
    'CPU ms/s: process.cpuUsage() of the bench process over the window / wall seconds; min-max over the windows',
    'heap KiB/probe: used-heap growth plus what the GCs in the window freed (v8.GCProfiler), per probe; heap kept: used heap after a full GC at the window end minus at its start; RSS: VmRSS end - start of the window',
    `the apps answered ${answered} /health requests for ${sent} probes sent (warm-up and unmeasured passes included)`,
    ...(firstFailure ? [`first failed probe: ${firstFailure}`] : []),
    ...skipped.map((s) => `skipped ${s.label}: ${s.why}`),
  ];
  const doc = {
    benchmark: 'probe-clients',
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    machine: machine(),
    options: { variants: only ?? 'all', apps: APPS, intervalMs: INTERVAL_MS, rounds: ROUNDS, passesPerWindow: PASSES, timeoutMs: TIMEOUT_MS, quick: opts.quick === true },
    variants: rows.map((r) => ({
      key: r.variant.key,
      label: r.variant.label,
      medians: {
        cpuMsPerS: Math.round(med(r, cpuPerS) * 100) / 100,
        cpuUsPerProbe: jsonNumber(med(r, (w) => (w.cpuMs * 1000) / w.probes)),
        overNodeHttp: Math.round((med(r, cpuPerS) / floorCpu) * 100) / 100 || null,
        heapBytesPerProbe: Math.round(med(r, (w) => w.allocatedBytes / w.probes)),
        heapKeptBytesPerWindow: Math.round(med(r, (w) => w.retainedBytes)),
        rssDeltaBytesPerWindow: Math.round(med(r, (w) => w.rssDeltaBytes)),
        gcsPerWindow: med(r, (w) => w.gcs),
        scavengesPerWindow: med(r, (w) => w.scavenges),
      },
      failures: r.windows.reduce((n, w) => n + w.failures, 0),
      windows: r.windows.map((w) => ({ ...w, wallMs: jsonNumber(w.wallMs), cpuMs: jsonNumber(w.cpuMs), gcMs: jsonNumber(w.gcMs) })),
    })),
    skipped,
    orders,
    probesSent: sent,
    healthAnswered: answered,
    table: text.split('\n'),
    notes,
  };
  const [file, latest] = writeResults('probe-clients', startedAt, doc);
  process.stdout.write(`\n${text}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n\nresults: ${file}\n         ${latest}\n`);
  return rows.some((r) => r.windows.some((w) => w.failures > 0)) ? 1 : 0;
}

async function cleanup(): Promise<void> {
  stopApps(children);
}

runBench(main, cleanup, out);
