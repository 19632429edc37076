/**
 * `npm run bench:cost`: CPU and memory of the monitor watching 50 apps at a 1 s interval, under
 * one isolated PM2 daemon, against (a) the in-process floor (pm2.list() + one keep-alive GET per
 * app per second), (c) the classic cron script (one `pm2 jlist` + one curl per app per run), and
 * a bare Node process that only loads pm2 + axios + winston (the memory baseline).
 * Prints tables and writes JSON to bench/results/. See bench/README.md.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PM2_BIN, ROOT } from '../test/helpers/sandbox.js';
import { holderPids } from './lib/holders.js';
import { Lab } from './lib/lab.js';
import { findFreePorts } from './lib/ports.js';
import { cpuMsOf, machine, memoryOf, mib, ms, pm2Version, ratio, reapedChildrenCpuMs, writeResults, type Memory } from './lib/proc.js';
import { Output } from './lib/progress.js';
import { jsonNumber, summarize, table } from './lib/stats.js';
import { benchFlags, runBench } from './lib/args.js';

const HELP = `Usage: npm run bench:cost -- [--duration SECONDS] [--apps N] [--port FIRST] [--cron-passes N]

CPU and memory of helpdesk-monitor watching N small HTTP apps at a 1 s interval under an
isolated PM2, against the in-process floor, the classic cron script and a bare Node process.

  --duration S     length of each measuring window, floor and monitor (default 60)
  --warmup S       checks before each window starts (default 5)
  --apps N         apps to watch (default 50)
  --port FIRST     first loopback port (default 47800; N consecutive ports, all must be free)
  --cron-passes N  runs of the cron script (default 5)
`;

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '5' },
    apps: { type: 'string', default: '50' },
    port: { type: 'string', default: '47800' },
    'cron-passes': { type: 'string', default: '5' },
    help: { type: 'boolean', short: 'h' },
  },
});
const intArg = benchFlags(HELP, opts.help);
const DURATION_MS = intArg('duration', opts.duration, 5) * 1000;
const WARMUP_MS = intArg('warmup', opts.warmup, 0) * 1000;
const APPS = intArg('apps', opts.apps, 1);
const FIRST_PORT = intArg('port', opts.port, 1024);
const CRON_PASSES = intArg('cron-passes', opts['cron-passes'], 1);
const INTERVAL_MS = 1000;

const out = new Output(process.stderr);
const lab = new Lab('bench-cost', (l) => out.line(l));
let workdir: string | undefined;
let ports: number[] = [];
const sleep = (msec: number): Promise<void> => new Promise((r) => setTimeout(r, msec));

/** The watched app: answers /health (and counts it) and /hits (the count, not counted). */
const APP_SOURCE = `'use strict';
const http = require('node:http');
let hits = 0;
http.createServer((req, res) => {
  if (req.url === '/health') {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 15 });
    return res.end('{"status":"ok"}');
  }
  if (req.url === '/hits') {
    const body = String(hits);
    res.writeHead(200, { 'content-length': body.length });
    return res.end(body);
  }
  res.writeHead(404, { 'content-length': 0 });
  res.end();
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

/** One GET on 127.0.0.1:port through `agent`; resolves with status and body ('' on error). */
function get(port: number, path: string, agent: http.Agent | false, timeoutMs = 2000): Promise<{ status: number; body: string }> {
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

/** Sum of /health hits over all apps (each app counts the probes it answered). */
async function totalHits(): Promise<number> {
  const counts = await Promise.all(ports.map(async (p) => Number((await get(p, '/hits', false)).body) || 0));
  return counts.reduce((a, b) => a + b, 0);
}

const appName = (i: number): string => `tiny-${String(i).padStart(2, '0')}`;

interface Window {
  readonly wallMs: number;
  /** Passes over all apps in the window (from the apps' hit counters: hits / apps). */
  readonly passes: number;
  readonly cpuMs: number;
  /** CPU of the PM2 daemon in the same window (it serialises every list). */
  readonly daemonCpuMs?: number;
}

const perPass = (w: Window): number => w.cpuMs / w.passes;
const pctCore = (w: Window): number => (100 * w.cpuMs) / w.wallMs;

/** (a) The floor: pm2.list() + one keep-alive GET per app, every second, in this process. */
async function floor(): Promise<Window & { passCpuMs: number[] }> {
  const sb = lab.sb!;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const pass = async (): Promise<void> => {
    await sb.pm2.list();
    const answers = await Promise.all(ports.map((p) => get(p, '/health', agent)));
    const bad = answers.filter((a) => a.status !== 200).length;
    if (bad) throw new Error(`floor: ${bad} app(s) did not answer 200`);
  };
  // Fixed rate, like the monitor: passes start one interval apart.
  const run = async (lengthMs: number, record: boolean): Promise<{ passes: number; cpuMs: number; wallMs: number; passCpuMs: number[]; hits: number; daemonCpuMs?: number }> => {
    const daemon = lab.daemonPid();
    const hits0 = record ? await totalHits() : 0;
    const d0 = daemon ? cpuMsOf(daemon) : undefined;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const passCpuMs: number[] = [];
    let passes = 0;
    while (performance.now() - t0 < lengthMs) {
      const start = performance.now();
      const u = process.cpuUsage();
      await pass();
      const du = process.cpuUsage(u);
      passCpuMs.push((du.user + du.system) / 1000);
      passes++;
      out.progress(`floor: ${(performance.now() - t0) / 1000 | 0}/${lengthMs / 1000} s, ${passes} passes${record ? '' : ' (warm-up)'}`, 10_000);
      await sleep(Math.max(0, start + INTERVAL_MS - performance.now()));
    }
    const c = process.cpuUsage(c0);
    const wallMs = performance.now() - t0;
    const d1 = daemon ? cpuMsOf(daemon) : undefined;
    const hits = record ? (await totalHits()) - hits0 : 0;
    return { passes, cpuMs: (c.user + c.system) / 1000, wallMs, passCpuMs, hits, ...(d0 !== undefined && d1 !== undefined ? { daemonCpuMs: d1 - d0 } : {}) };
  };
  await run(WARMUP_MS, false);
  const r = await run(DURATION_MS, true);
  agent.destroy();
  out.done();
  if (Math.abs(r.hits / ports.length - r.passes) > 1) out.line(`  note: the apps counted ${r.hits} probes for ${r.passes} floor passes`);
  return r;
}

interface MonitorRun extends Window {
  readonly pid: number;
  readonly rssAtHealthy?: Memory;
  readonly rssAtStart?: Memory;
  readonly rssAtEnd?: Memory;
  /** Highest VmRSS sampled (every second) during the window. */
  readonly rssMaxKiB: number;
  readonly rssSamplesKiB: number[];
  readonly healthyAfterMs: number;
}

/** (b) The real monitor as a child: CPU from /proc/<pid>/stat, memory from /proc/<pid>/status. */
async function monitor(): Promise<MonitorRun> {
  const config = lab.writeConfig(ports.map((port, i) => ({ name: appName(i), port })), {
    interval: '1s', timeout: '500ms', failureThreshold: 3, startupGrace: '1s',
  });
  const t0 = performance.now();
  const m = lab.startMonitor(config);
  const until = t0 + 60_000;
  for (;;) {
    if (!m.running) throw new Error(`the monitor exited (${m.describeExit()}): ${m.lines.slice(-5).map((l) => l.text).join(' | ')}`);
    const healthy = [...m.phases.values()].filter((p) => p === 'healthy').length;
    if (healthy >= ports.length) break;
    if (performance.now() > until) throw new Error(`only ${healthy}/${ports.length} apps healthy in the monitor's log after 60 s`);
    out.progress(`monitor: ${healthy}/${ports.length} apps healthy`, 5000);
    await sleep(100);
  }
  const healthyAfterMs = performance.now() - t0;
  const rssAtHealthy = memoryOf(m.pid);
  out.done();
  out.line(`  monitor (pid ${m.pid}) reports all ${ports.length} apps healthy after ${ms(healthyAfterMs, 0)}; warming up ${WARMUP_MS / 1000} s`);
  await sleep(WARMUP_MS);

  const daemon = lab.daemonPid();
  const hits0 = await totalHits();
  const c0 = cpuMsOf(m.pid);
  const d0 = daemon ? cpuMsOf(daemon) : undefined;
  const rssAtStart = memoryOf(m.pid);
  const w0 = performance.now();
  const samples: number[] = [];
  while (performance.now() - w0 < DURATION_MS) {
    await sleep(1000);
    if (!m.running) throw new Error(`the monitor exited (${m.describeExit()})`);
    const mem = memoryOf(m.pid);
    if (mem) samples.push(mem.rssKiB);
    out.progress(`monitor: ${(performance.now() - w0) / 1000 | 0}/${DURATION_MS / 1000} s, VmRSS ${mem ? mib(mem.rssKiB) : '?'} MiB`, 10_000);
  }
  const c1 = cpuMsOf(m.pid);
  const d1 = daemon ? cpuMsOf(daemon) : undefined;
  const rssAtEnd = memoryOf(m.pid);
  const wallMs = performance.now() - w0;
  const hits = (await totalHits()) - hits0;
  out.done();
  const unexpected = m.lines.filter((l) => /failing|unhealthy|remedy|error/i.test(l.text)).map((l) => l.text);
  if (unexpected.length) out.line(`  note: the monitor logged ${unexpected.length} failure/remedy line(s), e.g. ${unexpected[0]}`);
  await m.stop();
  if (c0 === undefined || c1 === undefined) throw new Error('could not read the monitor CPU from /proc');
  return {
    pid: m.pid, wallMs, passes: hits / ports.length, cpuMs: c1 - c0,
    ...(d0 !== undefined && d1 !== undefined ? { daemonCpuMs: d1 - d0 } : {}),
    ...(rssAtHealthy ? { rssAtHealthy } : {}),
    ...(rssAtStart ? { rssAtStart } : {}),
    ...(rssAtEnd ? { rssAtEnd } : {}),
    rssMaxKiB: Math.max(...samples, rssAtStart?.rssKiB ?? 0),
    rssSamplesKiB: samples,
    healthyAfterMs,
  };
}

/** Run a child to completion; returns its CPU (utime+stime, reaped, ms) and wall time. */
function timedChild(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ cpuMs: number; wallMs: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const c0 = reapedChildrenCpuMs();
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
    child.once('error', reject);
    // 'exit' fires after the child was reaped, so its CPU is in our cutime/cstime by then.
    child.once('exit', (code) => resolve({ cpuMs: reapedChildrenCpuMs() - c0, wallMs: performance.now() - t0, code }));
  });
}

interface CronPass {
  readonly jlistCpuMs: number;
  readonly curlCpuMs: number;
  readonly cpuMs: number;
  readonly wallMs: number;
}

/** (c) The classic cron script: `pm2 jlist` (a Node start each time) + one curl per app. */
async function cron(): Promise<CronPass[]> {
  const env = { ...lab.sb!.env, PM2_DISCRETE_MODE: 'true' };
  const script = `for p in ${ports.join(' ')}; do curl -s -o /dev/null -m 2 http://127.0.0.1:$p/health; done`;
  const passes: CronPass[] = [];
  for (let i = 0; i < CRON_PASSES; i++) {
    out.progress(`cron script: pass ${i + 1}/${CRON_PASSES}`, 5000);
    const j = await timedChild(process.execPath, [PM2_BIN, 'jlist'], env);
    const c = await timedChild('bash', ['-c', script], env);
    if (j.code !== 0 || c.code !== 0) throw new Error(`cron pass: pm2 jlist exited ${j.code}, the curl loop ${c.code}`);
    passes.push({ jlistCpuMs: j.cpuMs, curlCpuMs: c.cpuMs, cpuMs: j.cpuMs + c.cpuMs, wallMs: j.wallMs + c.wallMs });
    await sleep(INTERVAL_MS);
  }
  out.done();
  return passes;
}

/** A bare Node process that loads pm2 + axios + winston (optionally connects and lists). */
async function bareShell(connect: boolean): Promise<Memory> {
  const code = `require('pm2');require('axios');require('winston');` +
    (connect
      ? `const pm2=require('pm2');pm2.connect(e=>{if(e)process.exit(4);pm2.list(()=>console.log('ready'))});`
      : `console.log('ready');`) +
    `setInterval(()=>{},1000);`;
  const child = spawn(process.execPath, ['-e', code], { cwd: ROOT, env: lab.sb!.env, stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the bare shell did not start within 20 s')), 20_000);
      child.stdout.setEncoding('utf8').once('data', () => {
        clearTimeout(t);
        resolve();
      });
      child.once('exit', (c) => reject(new Error(`the bare shell exited ${c}`)));
    });
    await sleep(3000); // let start-up garbage settle, like the monitor's warm-up
    const mem = memoryOf(child.pid!);
    if (!mem) throw new Error('cannot read the bare shell memory');
    return mem;
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const started = performance.now();
  out.line(`monitor-cost benchmark: ${APPS} apps, interval 1 s, windows of ${DURATION_MS / 1000} s (+${WARMUP_MS / 1000} s warm-up), ${CRON_PASSES} cron passes, ${cpus().length} CPU(s), node ${process.version}, pm2 ${pm2Version()}`);
  ports = await findFreePorts(FIRST_PORT, APPS, APPS).catch(() => {
    throw new Error(`ports ${FIRST_PORT}-${FIRST_PORT + APPS - 1} must all be free (use --port)`);
  });
  workdir = mkdtempSync(join(tmpdir(), 'hdm-bench-cost-'));
  const script = join(workdir, 'tiny-app.js');
  writeFileSync(script, APP_SOURCE);
  const sb = await lab.open();
  out.line(`isolated PM2_HOME ${sb.home}; ${APPS} apps (${script}) on 127.0.0.1:${ports[0]}-${ports[ports.length - 1]}`);
  const t0 = performance.now();
  for (let i = 0; i < APPS; i++) {
    out.progress(`starting app ${i + 1}/${APPS}`, 5000);
    await sb.start({ name: appName(i), script, cwd: workdir, env: { PORT: String(ports[i]) }, autorestart: true, max_restarts: 3 });
  }
  for (;;) {
    const ok = (await Promise.all(ports.map((p) => get(p, '/health', false, 1000)))).filter((a) => a.status === 200).length;
    if (ok === APPS) break;
    if (performance.now() - t0 > 120_000) throw new Error(`only ${ok}/${APPS} apps answer /health after 120 s`);
    out.progress(`${ok}/${APPS} apps answer /health`, 5000);
    await sleep(250);
  }
  out.done();
  out.line(`  ${APPS} apps up in ${ms(performance.now() - t0, 0)}`);

  out.line(`(a) in-process floor: pm2.list() + one keep-alive GET per app every second, ${DURATION_MS / 1000} s`);
  const fl = await floor();
  out.line(`  ${fl.passes} passes, ${ms(perPass(fl))} CPU per pass`);
  out.line(`(b) the monitor: dist/src/cli/index.js run, ${DURATION_MS / 1000} s`);
  const mo = await monitor();
  out.line(`  ${mo.passes.toFixed(1)} passes (probes counted by the apps / ${APPS}), ${ms(perPass(mo))} CPU per pass, ${pctCore(mo).toFixed(2)} % of one core`);
  out.line(`(c) cron script: pm2 jlist + ${APPS} x curl, ${CRON_PASSES} passes`);
  const cr = await cron();
  out.line('(d) bare Node shells for the memory baseline');
  const bare = await bareShell(false);
  const bareConnected = await bareShell(true);

  // Report.
  const crCpu = summarize(cr.map((p) => p.cpuMs));
  const crJlist = summarize(cr.map((p) => p.jlistCpuMs));
  const crCurl = summarize(cr.map((p) => p.curlCpuMs));
  const crWall = summarize(cr.map((p) => p.wallMs));
  const flPass = summarize(fl.passCpuMs);
  const monPerPass = perPass(mo);
  const flPerPass = perPass(fl);
  const overFloor = monPerPass / flPerPass;
  const pct = pctCore(mo);
  const cpuRows = [
    ['(a) in-process floor', ms(flPerPass), `${fl.passes}`, `${pctCore(fl).toFixed(2)} %`, fl.daemonCpuMs === undefined ? '?' : ms(fl.daemonCpuMs / fl.passes), '1.00x', '-'],
    ['(b) helpdesk-monitor run', ms(monPerPass), mo.passes.toFixed(1), `${pct.toFixed(2)} %`, mo.daemonCpuMs === undefined ? '?' : ms(mo.daemonCpuMs / mo.passes), ratio(monPerPass, flPerPass),
      `<= 2x floor: ${overFloor <= 2 ? 'met' : 'MISSED'}; <= 1 % core: ${pct <= 1 ? 'met' : 'MISSED'}`],
    ['(c) cron script (jlist + curl)', ms(crCpu.median), `${cr.length}`, `${((100 * crCpu.median) / INTERVAL_MS).toFixed(1)} % if run every 1 s`, '-', ratio(crCpu.median, flPerPass, 0), '-'],
  ];
  const cpuText = table(['CPU per pass over all apps', 'CPU/pass', 'passes', 'of one core', 'PM2 daemon CPU/pass', 'vs floor', 'target'], cpuRows);

  const memRow = (label: string, m: Memory | undefined, note = ''): string[] => [label, m ? `${mib(m.rssKiB)} MiB` : '?', m ? `${mib(m.hwmKiB)} MiB` : '?', note];
  const peak = Math.max(mo.rssAtEnd?.hwmKiB ?? 0, mo.rssMaxKiB);
  const memText = table(['memory (VmRSS)', 'RSS', 'peak (VmHWM)', 'note'], [
    memRow('monitor, all apps healthy', mo.rssAtHealthy),
    memRow('monitor, window start', mo.rssAtStart, `after ${WARMUP_MS / 1000} s warm-up`),
    memRow('monitor, window end', mo.rssAtEnd, `max sampled in the window ${mib(mo.rssMaxKiB)} MiB; target <= 65 MiB: ${peak <= 65 * 1024 ? 'met' : 'MISSED'}`),
    memRow('bare node + pm2, axios, winston', bare, `monitor end - bare = ${mo.rssAtEnd ? mib(mo.rssAtEnd.rssKiB - bare.rssKiB) : '?'} MiB`),
    memRow('  ... + pm2.connect() + list()', bareConnected, `monitor end - this = ${mo.rssAtEnd ? mib(mo.rssAtEnd.rssKiB - bareConnected.rssKiB) : '?'} MiB`),
  ]);
  const slope = mo.rssSamplesKiB.length > 1 ? (mo.rssSamplesKiB[mo.rssSamplesKiB.length - 1]! - mo.rssSamplesKiB[0]!) / 1024 / ((mo.rssSamplesKiB.length - 1) / 60) : NaN;
  const notes = [
    `monitor/floor CPU per pass ${ratio(monPerPass, flPerPass)} (target <= 2x), monitor ${pct.toFixed(2)} % of one core (target <= 1 %); the cron script costs ${ratio(crCpu.median, monPerPass, 0)} the monitor's CPU per pass`,
    `floor per-pass CPU (process.cpuUsage around each pass): median ${ms(flPass.median)}, p90 ${ms(flPass.p90)}; the monitor's CPU comes from /proc/${mo.pid}/stat (10 ms ticks) over ${(mo.wallMs / 1000).toFixed(0)} s; its passes are the apps' own probe counts / ${APPS}`,
    `cron pass: pm2 jlist median ${ms(crJlist.median, 0)} CPU, ${APPS} curls (with bash) median ${ms(crCurl.median, 0)} CPU, wall ${ms(crWall.median, 0)} per pass`,
    `monitor VmRSS over the window: ${mo.rssSamplesKiB.length ? `${mib(Math.min(...mo.rssSamplesKiB))}-${mib(mo.rssMaxKiB)} MiB, ${Number.isFinite(slope) ? `${slope >= 0 ? '+' : ''}${slope.toFixed(2)} MiB/min first to last sample` : ''}` : 'no samples'} (a ${DURATION_MS / 1000} s window: DESIGN's memory target is over an hour)`,
    `machine load average at the end: ${(machine()['loadavg'] as number[]).map((x) => x.toFixed(2)).join(', ')} (other work on the machine inflates CPU per pass on every side)`,
  ];

  const doc = {
    benchmark: 'monitor-cost',
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    machine: machine(),
    options: { apps: APPS, intervalMs: INTERVAL_MS, durationMs: DURATION_MS, warmupMs: WARMUP_MS, cronPasses: CRON_PASSES, ports: [ports[0], ports[ports.length - 1]] },
    monitorConfig: { interval: '1s', timeout: '500ms', failure_threshold: 3, startup_grace: '1s', concurrency: 8 },
    floor: {
      what: 'in this process: pm2.list() through src/pm2/adapter + one keep-alive GET /health per app, fixed rate 1 s',
      passes: fl.passes, cpuMs: jsonNumber(fl.cpuMs), wallMs: Math.round(fl.wallMs), cpuPerPassMs: jsonNumber(flPerPass),
      perPassMedianMs: jsonNumber(flPass.median), perPassP90Ms: jsonNumber(flPass.p90), percentOfCore: jsonNumber(pctCore(fl)),
      ...(fl.daemonCpuMs === undefined ? {} : { daemonCpuMs: jsonNumber(fl.daemonCpuMs) }),
    },
    monitor: {
      what: 'node dist/src/cli/index.js run --config <50 apps, interval 1s>; CPU = utime+stime from /proc/<pid>/stat',
      pid: mo.pid, passes: jsonNumber(mo.passes), cpuMs: jsonNumber(mo.cpuMs), wallMs: Math.round(mo.wallMs), cpuPerPassMs: jsonNumber(monPerPass),
      percentOfCore: Math.round(pct * 1000) / 1000, overFloor: Math.round(overFloor * 100) / 100,
      ...(mo.daemonCpuMs === undefined ? {} : { daemonCpuMs: jsonNumber(mo.daemonCpuMs) }),
      healthyAfterMs: Math.round(mo.healthyAfterMs),
      rssKiB: { atHealthy: mo.rssAtHealthy?.rssKiB ?? null, atStart: mo.rssAtStart?.rssKiB ?? null, atEnd: mo.rssAtEnd?.rssKiB ?? null, maxSampled: mo.rssMaxKiB, hwmAtEnd: mo.rssAtEnd?.hwmKiB ?? null },
      rssSamplesKiB: mo.rssSamplesKiB,
      targets: { overFloorMax: 2, percentOfCoreMax: 1, rssMiBMax: 65, met: { overFloor: overFloor <= 2, percentOfCore: pct <= 1, rss: peak <= 65 * 1024 } },
    },
    cron: {
      what: `\`node pm2/bin/pm2 jlist\` then bash: ${APPS} x \`curl -s -o /dev/null http://127.0.0.1:PORT/health\`; CPU = reaped children's utime+stime`,
      cpuPerPassMedianMs: jsonNumber(crCpu.median), jlistMedianMs: jsonNumber(crJlist.median), curlsMedianMs: jsonNumber(crCurl.median),
      passes: cr.map((p) => ({ cpuMs: jsonNumber(p.cpuMs), jlistCpuMs: jsonNumber(p.jlistCpuMs), curlCpuMs: jsonNumber(p.curlCpuMs), wallMs: jsonNumber(p.wallMs) })),
    },
    bareShell: { what: 'node -e "require(pm2, axios, winston)", VmRSS 3 s after loading', rssKiB: bare.rssKiB, hwmKiB: bare.hwmKiB },
    bareShellConnected: { what: 'the same + pm2.connect() + pm2.list()', rssKiB: bareConnected.rssKiB, hwmKiB: bareConnected.hwmKiB },
    cpuTable: cpuText.split('\n'),
    memoryTable: memText.split('\n'),
    notes,
  };
  const [file, latest] = writeResults('monitor-cost', startedAt, doc);
  process.stdout.write(`\n${cpuText}\n\n${memText}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n\nresults: ${file}\n         ${latest}\n`);
  return 0;
}

async function cleanup(): Promise<void> {
  for (const n of await lab.cleanup()) out.line(`cleanup: ${n}`);
  // pm2 kill ends the apps; if it could not, end whatever of ours (cwd = our temp dir) still holds our ports.
  if (workdir) {
    for (const port of ports) {
      for (const pid of holderPids(port)) {
        try {
          // PM2 runs fork-mode apps as `node .../ProcessContainerFork.js`: tell ours by their cwd.
          if (readlinkSync(`/proc/${pid}/cwd`) !== workdir && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(workdir)) continue;
          process.kill(pid, 'SIGKILL');
          out.line(`cleanup: killed leftover app pid ${pid} on port ${port}`);
        } catch {
          // gone
        }
      }
    }
    rmSync(workdir, { recursive: true, force: true });
  }
}

runBench(main, cleanup, out, () => {
  const m = lab.monitor;
  if (m) out.line(`last monitor lines:\n${m.lines.slice(-10).map((l) => `  | ${l.text}`).join('\n')}`);
});
