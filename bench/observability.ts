/**
 * `npm run bench:web`: what the status server (the http: block) costs. At 10, 50 and 200 apps: a
 * scrape, the status page and /api/status, in process and over loopback HTTP, each beside a
 * baseline run in the same process; the RSS of the real `run` with the server on (scraped every
 * 5 s) and off, side by side; and the log bytes one incident writes, JSON and text. Prints tables,
 * writes JSON to bench/results/. See bench/README.md, "observability".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { benchFlags, listFlag, runBench } from './lib/args.js';
import { APP_SOURCE, appName, startApps } from './lib/cost-apps.js';
import { Lab, type LabApp } from './lib/lab.js';
import { captureMaterial, type Material } from './lib/obs-material.js';
import { measureLogBytes, type LogTrial } from './lib/obs-logs.js';
import { httpTable, logTable, opJson, partsTable, rssTable, type SizeTiming } from './lib/obs-report.js';
import { measureRss, stopRssMonitors, type RssResult } from './lib/obs-rss.js';
import { holdPorts, synthesize } from './lib/obs-synth.js';
import { timeHttp, timeInProcess } from './lib/obs-timing.js';
import { findFreePorts } from './lib/ports.js';
import { machine, mib, ms, pm2Version, writeResults } from './lib/proc.js';
import { Output } from './lib/progress.js';
import { summarize } from './lib/stats.js';

const HELP = `Usage: npm run bench:web -- [--quick] [--parts timing,logs,rss] [--sizes 10,50,200]
                             [--rounds N] [--http-rounds N] [--rss-rounds N] [--rss-warmup S]
                             [--rss-window S] [--rss-apps N] [--log-trials N] [--port FIRST]

What the status server costs: a scrape, the page and /api/status at 10, 50 and 200 apps (in
process and over loopback HTTP, beside baselines), the RSS of \`run\` with http: on and off, and
the log bytes of one incident in JSON and text.

  --parts LIST      timing, logs, rss (default all three)
  --sizes LIST      app counts for the timing (default 10,50,200)
  --rounds N        in-process rounds per size (default 200; 20 warm-up rounds more)
  --http-rounds N   HTTP rounds per size (default 100; 10 warm-up rounds more)
  --rss-rounds N    rounds of the three monitors (off, idle, on), fresh processes each, the
                    start order rotating (default 3)
  --rss-warmup S    seconds before the RSS window (default 60)
  --rss-window S    RSS window, one sample every 5 s (default 60)
  --rss-apps N      apps the two monitors watch (default 10)
  --log-trials N    trials of each fault per log format (default 2)
  --quick           40 rounds, 20 HTTP rounds, 1 RSS round of 15 s + 30 s, 1 log trial (2-3 min)
  --port FIRST      first loopback port (default 31600; the first free ones from there are used)
`;

const { values: opts } = parseArgs({
  options: {
    parts: { type: 'string', default: 'timing,logs,rss' },
    sizes: { type: 'string', default: '10,50,200' },
    rounds: { type: 'string' },
    'http-rounds': { type: 'string' },
    'rss-rounds': { type: 'string' },
    'rss-warmup': { type: 'string' },
    'rss-window': { type: 'string' },
    'rss-apps': { type: 'string', default: '10' },
    'log-trials': { type: 'string' },
    quick: { type: 'boolean', default: false },
    port: { type: 'string', default: '31600' },
    help: { type: 'boolean', short: 'h' },
  },
});
const intArg = benchFlags(HELP, opts.help);
const q = opts.quick;
const PARTS = listFlag(HELP, 'parts', opts.parts, (s) => ['timing', 'logs', 'rss'].includes(s), 'timing, logs and/or rss');
const SIZES = listFlag(HELP, 'sizes', opts.sizes, (s) => /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 1000, 'app counts 1-1000').map(Number).sort((a, b) => a - b);
const ROUNDS = intArg('rounds', opts.rounds ?? (q ? '40' : '200'), 5);
const HTTP_ROUNDS = intArg('http-rounds', opts['http-rounds'] ?? (q ? '20' : '100'), 5);
const RSS_ROUNDS = intArg('rss-rounds', opts['rss-rounds'] ?? (q ? '1' : '3'), 1);
const RSS_WARMUP_MS = intArg('rss-warmup', opts['rss-warmup'] ?? (q ? '15' : '60'), 0) * 1000;
const RSS_WINDOW_MS = intArg('rss-window', opts['rss-window'] ?? (q ? '30' : '60'), 5) * 1000;
const RSS_APPS = intArg('rss-apps', opts['rss-apps'], 1);
const LOG_TRIALS = intArg('log-trials', opts['log-trials'] ?? (q ? '1' : '2'), 1);
const FIRST_PORT = intArg('port', opts.port, 1024);
const EVERY_MS = 5000;

const out = new Output(process.stderr);
const lab = new Lab('bench-web', (l) => out.line(l));
const progress = (text: string): void => out.progress(text, 10_000);
let workdir: string | undefined;

function monitorYaml(app: LabApp, stateDir: string): string {
  const file = join(lab.home, 'material.yaml');
  writeFileSync(file, YAML.stringify({
    state_dir: stateDir,
    apps: [{ name: app.name, health: { url: `http://127.0.0.1:${app.port}/health`, interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: '2s', ports: [app.port] }],
  }));
  return file;
}

async function timing(app: LabApp, synPorts: number[], synHttp: number): Promise<{ material: Material; sizes: SizeTiming[] }> {
  out.line('\n== timing: material from a real engine (hang, then crash + squatter)');
  const material = await captureMaterial(lab, app, monitorYaml(app, join(lab.home, 'material-state')), progress);
  out.done();
  out.line(`  ${material.observations.length} observations, ${material.incidents.length} incidents (${material.incidents.map((i) => `${i.trigger.kind}: ${i.report.ok ? 'healed' : 'failed'}`).join(', ')}) in ${ms(material.ms, 0)}`);
  const sizes: SizeTiming[] = [];
  for (const n of SIZES) {
    const syn = synthesize(material, synPorts.slice(0, n), synHttp, join(lab.home, 'synth'));
    const release = await holdPorts(syn.ports);
    try {
      out.line(`  ${n} apps (${syn.unhealthy} unhealthy): in process, ${ROUNDS} rounds`);
      const inProcess = await timeInProcess(syn, ROUNDS, 20, progress);
      out.done();
      out.line(`  ${n} apps: over HTTP, ${HTTP_ROUNDS} rounds`);
      const http = await timeHttp(syn, HTTP_ROUNDS, 10, progress);
      out.done();
      sizes.push({ apps: n, unhealthy: syn.unhealthy, inProcess, http });
    } finally {
      await release();
    }
  }
  return { material, sizes };
}

async function rss(ports: number[], httpPort: number, idlePort: number): Promise<RssResult[]> {
  out.line(`\n== RSS: run with http: on and off, ${RSS_APPS} apps, ${RSS_ROUNDS} round(s) of ${RSS_WARMUP_MS / 1000} s + ${RSS_WINDOW_MS / 1000} s`);
  workdir = mkdtempSync(join(tmpdir(), 'hdm-bench-web-'));
  const script = join(workdir, 'tiny-app.js');
  writeFileSync(script, APP_SOURCE);
  await startApps(lab.sb!, { script, cwd: workdir, ports, from: 0, to: RSS_APPS, onProgress: progress });
  out.done();
  const apps = ports.slice(0, RSS_APPS).map((port, i) => ({ name: appName(i), port }));
  const results = await measureRss(lab, { apps, httpPort, idlePort, rounds: RSS_ROUNDS, warmupMs: RSS_WARMUP_MS, windowMs: RSS_WINDOW_MS, everyMs: EVERY_MS, progress });
  out.done();
  return results;
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const started = performance.now();
  out.line(`observability benchmark: parts ${PARTS.join(', ')}; sizes ${SIZES.join(', ')}; ${cpus().length} CPU(s), node ${process.version}, pm2 ${pm2Version()}`);
  const max = SIZES[SIZES.length - 1]!;
  const ports = await findFreePorts(FIRST_PORT, 1 + max + 1 + RSS_APPS + 3, max + RSS_APPS + 300);
  const app: LabApp = { name: 'hd-obs', port: ports[0]! };
  const synPorts = ports.slice(1, 1 + max);
  const synHttp = ports[1 + max]!;
  const rssPorts = ports.slice(2 + max, 2 + max + RSS_APPS);
  const rssHttp = ports[2 + max + RSS_APPS]!;
  const logHttp = ports[3 + max + RSS_APPS]!;
  const rssIdle = ports[4 + max + RSS_APPS]!;
  const sb = await lab.open();
  out.line(`isolated PM2_HOME ${sb.home}; the example app on 127.0.0.1:${app.port}`);
  await lab.startApp(app);
  await lab.settle(app, { minUptimeMs: 1000 });

  const t = PARTS.includes('timing') ? await timing(app, synPorts, synHttp) : undefined;
  let logs: LogTrial[] | undefined;
  if (PARTS.includes('logs')) {
    out.line(`\n== log bytes per incident: json and text, ${LOG_TRIALS} trial(s) of each fault`);
    logs = await measureLogBytes(lab, app, { httpPort: logHttp, trials: LOG_TRIALS, progress });
    out.done();
  }
  const mem = PARTS.includes('rss') ? await rss(rssPorts, rssHttp, rssIdle) : undefined;

  const tables = [
    ...(t ? [partsTable(t.sizes), httpTable(t.sizes)] : []),
    ...(mem ? [rssTable(mem, RSS_APPS)] : []),
    ...(logs ? [logTable(logs)] : []),
  ];
  const text = tables.join('\n\n');
  const notes: string[] = [];
  if (t) {
    notes.push(`timing: synthetic views (one real engine's view of the example app, cloned under N names; every 10th app unhealthy with its circuit open) and the real observations (${t.material.observations.length}) and incidents (${t.material.incidents.length}, plus a failed one for the unhealthy apps) replayed per app; one loopback listener per app port held by this process, so the holders scan finds N sockets`);
    notes.push('CPU/request over HTTP is this whole process: the client (node:http, one keep-alive connection) and the server; /healthz is the floor of that round trip');
  }
  if (mem) {
    const med = (side: 'on' | 'idle' | 'off'): number => summarize(mem.filter((r) => r.side === side).map((r) => r.medianKiB)).median;
    notes.push(`RSS: the three monitors at once (same apps, same machine load), fresh processes each round; DESIGN's memory target is <= 65 MiB RSS at 50 apps over 1 h with no V8 flag: at ${RSS_APPS} apps, off ${mib(med('off'))} MiB, idle ${mib(med('idle'))} MiB, on ${mib(med('on'))} MiB`);
  }
  notes.push(`machine load average at the end: ${(machine()['loadavg'] as number[]).map((x) => x.toFixed(2)).join(', ')} (2 cores shared with other work: every wall time includes it)`);
  const doc = {
    benchmark: 'observability',
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    machine: machine(),
    options: { parts: PARTS, sizes: SIZES, rounds: ROUNDS, httpRounds: HTTP_ROUNDS, rssRounds: RSS_ROUNDS, rssWarmupMs: RSS_WARMUP_MS, rssWindowMs: RSS_WINDOW_MS, rssApps: RSS_APPS, logTrials: LOG_TRIALS, quick: q },
    method: {
      material: 'src/engine Engine in this process on the example app (FAULTS=1) under an isolated PM2: interval 1s, timeout 500ms, failure_threshold 2; SIGSTOP, then POST /__fault/squat; its onObservation/onIncident hooks and views() kept',
      inProcess: 'each op once per round, order rotating; wall = performance.now(), CPU = process.cpuUsage() user+system around the call; 20 warm-up rounds not counted',
      http: 'MonitorWeb (src/app/web.ts) with the synthetic views, apply(config with http:), its metrics fed through its hooks; node:http GET over one keep-alive connection; 10 warm-up rounds',
      rss: `node dist/src/cli/index.js run, three at once (http: off; http: on, never asked; http: on, GET /metrics every ${EVERY_MS / 1000} s with a new connection), tiny node:http apps under the same PM2, interval 1s, timeout 500ms, failure_threshold 3; VmRSS every ${EVERY_MS / 1000} s over the window`,
      logs: 'node dist/src/cli/index.js run with log.format json, then text, level info, its own log file; bytes (newline included) of the lines whose incident_id is the remedy\'s, read with src/log/parse-line.ts',
    },
    ...(t ? {
      material: { observations: t.material.observations.length, incidents: t.material.incidents.map((i) => ({ trigger: i.trigger.kind, ok: i.report.ok, killed: i.report.ports?.killed.length ?? 0 })), ms: Math.round(t.material.ms) },
      sizes: t.sizes.map((s) => ({ apps: s.apps, unhealthy: s.unhealthy, inProcess: s.inProcess.map(opJson), http: s.http.map(opJson) })),
    } : {}),
    ...(mem ? { rss: mem } : {}),
    ...(logs ? { logs } : {}),
    table: text.split('\n'),
    notes,
  };
  const name = q || PARTS.length < 3 ? `observability-${q ? 'quick' : PARTS.join('-')}` : 'observability';
  const [file, latest] = writeResults(name, startedAt, doc);
  process.stdout.write(`\n${text}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n\nresults: ${file}\n         ${latest}\n`);
  return 0;
}

async function cleanup(): Promise<void> {
  out.done();
  await stopRssMonitors();
  for (const n of await lab.cleanup()) out.line(`cleanup: ${n}`);
  if (workdir) rmSync(workdir, { recursive: true, force: true });
}

runBench(main, cleanup, out, () => {
  const m = lab.monitor;
  if (m) out.line(`last run-monitor lines:\n${m.lines.slice(-10).map((l) => `  | ${l.text}`).join('\n')}`);
});
