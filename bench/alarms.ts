/**
 * `npm run bench:alarms`: the alarm table trigger (issue 13) against a real MariaDB in a temp
 * datadir and a real PM2 in a temp PM2_HOME. (1) alarm to healthy: `alarma = 1` to a 200 from a new
 * pid, against the app's cold start; (2) one poll's client CPU and server statements at 10, 100 and
 * 1,000 rows, against a SELECT 1 through the same pool; (3) CPU while the server is down, pollers
 * at 2 s and at the default 5 min against the idle engine. Every baseline is measured in the same
 * run. Prints three tables, writes JSON to bench/results/. See bench/README.md.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { Connection } from 'mysql2/promise';
import { loadSeedSchema, startMariaDb, type MariaDb } from '../test/helpers/mariadb.js';
import type { TestMonitor } from '../test/helpers/monitor.js';
import { waitFor } from '../test/helpers/sandbox.js';
import { benchFlags, listFlag, runBench } from './lib/args.js';
import { HEAL_INTERVAL_MS, measureHeal } from './lib/alarm-heal.js';
import { idleWindow, pollerWindow, SETTLE_MS, type OutageWindow } from './lib/alarm-outage.js';
import { counterSelfCost, measurePollCost, type PollCostResult } from './lib/alarm-poll-cost.js';
import { costJson, costNotes, costTable, healJson, healNotes, healTable, outageJson, outageNotes, outageTable, summarizeHeal } from './lib/alarm-report.js';
import { alarmsBlock, alarmsConfig, PASSWORD_ENV, startEngine, type DbTarget } from './lib/alarm-rig.js';
import { waitHealthy } from './lib/health.js';
import { Lab, type LabApp } from './lib/lab.js';
import { findFreePorts } from './lib/ports.js';
import { machine, pm2Version, writeResults } from './lib/proc.js';
import { Output } from './lib/progress.js';

const HELP = `Usage: npm run bench:alarms -- [--quick] [--trials N] [--polls N] [--window S] [--sizes LIST] [--port FIRST]

The alarm table trigger against a real MariaDB (temp datadir) and a real PM2 (temp PM2_HOME):
alarm to healthy against the app's cold start; one poll's client CPU and server statements
against a SELECT 1; CPU while the server is down against the idle engine.

  --trials N      alarm-to-healthy rounds, each with one cold start (default 5, quick 3)
  --polls N       timed polls (and as many SELECT 1) per table size (default 200, quick 50)
  --window S      each CPU window while the server is down (default 30, quick 10)
  --sizes LIST    rows in the tables (default 10,100,1000)
  --quick         the short form (about 1 min)
  --port FIRST    first loopback port to try for the example app (default 47600)
`;

const { values: opts } = parseArgs({
  options: {
    trials: { type: 'string' },
    polls: { type: 'string' },
    window: { type: 'string' },
    sizes: { type: 'string', default: '10,100,1000' },
    quick: { type: 'boolean', default: false },
    port: { type: 'string', default: '47600' },
    help: { type: 'boolean', short: 'h' },
  },
});
const intArg = benchFlags(HELP, opts.help);
const TRIALS = intArg('trials', opts.trials ?? (opts.quick ? '3' : '5'), 1);
const POLLS = intArg('polls', opts.polls ?? (opts.quick ? '50' : '200'), 1);
const WINDOW_MS = intArg('window', opts.window ?? (opts.quick ? '10' : '30'), 2) * 1000;
const SIZES = listFlag(HELP, 'sizes', opts.sizes, (s) => /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 100_000, 'row counts 1-100000, comma-separated').map(Number);
const FIRST_PORT = intArg('port', opts.port, 1024);
/** Polls on a new connection each, per size. */
const FRESH = opts.quick ? 5 : 15;


const out = new Output(process.stderr);
const lab = new Lab('bench-alarms', (l) => out.line(l));
const progress = (text: string): void => out.progress(text, 5000);
let db: MariaDb | undefined;
let root: Connection | undefined;
let monitor: TestMonitor | undefined;

async function main(): Promise<number> {
  const startedAt = new Date();
  const started = performance.now();
  out.line(`alarms benchmark: ${TRIALS} round(s), ${POLLS} polls per size at ${SIZES.join(', ')} rows, ${WINDOW_MS / 1000} s windows; ${cpus().length} CPU(s), node ${process.version}, pm2 ${pm2Version()}`);
  const [port] = await findFreePorts(FIRST_PORT, 1);
  const app: LabApp = { name: 'hd-alarm', port: port! };
  const [sb, server] = await Promise.all([lab.open(), startMariaDb()]);
  db = server;
  const seed = await loadSeedSchema(db);
  process.env[PASSWORD_ENV] = seed.helpdesk.password;
  root = await db.connect();
  const target: DbTarget = { port: db.port, user: seed.helpdesk.user };
  out.line(`isolated PM2_HOME ${sb.home}; MariaDB pid ${db.pid} on 127.0.0.1:${db.port} (datadir ${db.timings.installMs} ms, ready ${db.timings.readyMs} ms); the monitor connects as ${seed.helpdesk.user} over TCP`);
  await lab.startApp(app);
  await waitHealthy(app.port);

  out.line(`\n== 1. alarm to healthy (${TRIALS} rounds: cold start, then alarm)`);
  const heal = await measureHeal({ lab, sb, app, db: target, root, progress, line: (l) => out.line(l) }, TRIALS);
  out.done();

  out.line(`\n== 2. one poll at ${SIZES.join(', ')} rows`);
  const self = await counterSelfCost(root);
  const costs: PollCostResult[] = [];
  for (const rows of SIZES) {
    progress(`${rows} rows: filling and polling`);
    const r = await measurePollCost(root, alarmsConfig(target), process.env, rows, POLLS, FRESH, self);
    costs.push(r);
    out.done();
    out.line(`  ${rows} rows: ${r.inAlarm} in alarm, ${POLLS} polls and ${POLLS} SELECT 1 timed, ${FRESH} polls on a new connection`);
  }

  out.line(`\n== 3. server down: ${WINDOW_MS / 1000} s windows beside an idle engine`);
  monitor = startEngine(sb, app, alarmsBlock(target, { interval: '2s' }));
  const m = monitor;
  await waitFor('the engine to see the app healthy', () => m.engine.views()[0]?.state.phase === 'healthy', 30_000);
  await root.end();
  root = undefined;
  await db.stop();
  out.line(`  MariaDB stopped; each window follows a full GC and ${SETTLE_MS / 1000} s of rest`);
  const ctx = { monitor, db: target, windowMs: WINDOW_MS, progress };
  const windows: OutageWindow[] = [];
  windows.push(await idleWindow(ctx, 'idle engine, no poller (before)'));
  windows.push(await pollerWindow(ctx, 'poller, interval 2 s', { interval: '2s' }));
  windows.push(await pollerWindow(ctx, 'poller, interval 5 min (default)', {}));
  windows.push(await idleWindow(ctx, 'idle engine, no poller (after)'));
  out.done();
  const leaked = monitor.lines.some((l) => l.includes(seed.helpdesk.password));
  await monitor.stop();
  monitor = undefined;

  const hs = summarizeHeal(heal);
  const tables = [healTable(hs), costTable(costs), outageTable(windows)];
  const notes = [
    ...healNotes(heal, hs),
    ...costNotes(costs, self, POLLS),
    ...outageNotes(windows),
    `the password appears in ${leaked ? 'SOME' : 'none'} of the monitor's lines in part 3`,
    `machine load average at the end: ${(machine()['loadavg'] as number[]).map((x) => x.toFixed(2)).join(', ')} (other work on the machine adds to every wall time; CPU times are this process's own)`,
  ];
  const text = tables.join('\n\n');
  const doc = {
    benchmark: 'alarms',
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    machine: machine(),
    options: { trials: TRIALS, polls: POLLS, freshPolls: FRESH, windowMs: WINDOW_MS, sizes: SIZES, quick: opts.quick },
    mariadb: { installMs: db.timings.installMs, readyMs: db.timings.readyMs, account: `${seed.helpdesk.user} (SELECT on both tables, UPDATE (alarma, notes))`, via: 'TCP 127.0.0.1' },
    method: {
      alarmToHealthy: `rounds of: pm2 restart of the healthy app with no monitor running -> first 200 from a new pid (the floor); then the engine in this process with an AlarmPoller beside it (alarms interval ${HEAL_INTERVAL_MS} ms, on_success clear; app probes every 1 s, startup_grace 0), a random 0..interval wait after its first good poll, root UPDATE STATUS_PROCESS SET alarma = 1 -> first 200 from a new pid; /health polled every 10 ms on a fresh connection`,
      pollCost: 'openAlarmSource(cfg).poll() against source.update({ sql: "SELECT 1" }) (same pool, same call path), interleaved; CPU = process.cpuUsage() user+system per call; server counters from SHOW GLOBAL STATUS by root over the socket, before and after a separate batch of the same count, minus one counter read; new connection: openAlarmSource + one poll (timed) each, closed after the counters are read',
      rows: '1% of the rows (at least 1) have alarma = 1, the rest 0; names bench-proc-<id>, mapped to no app (the source does not look at apps)',
      outage: `the engine in this process watches the app; MariaDB stopped (ECONNREFUSED); before each window a full GC and ${SETTLE_MS / 1000} s of rest (V8's memory reducer); windows of ${WINDOW_MS / 1000} s: idle, poller 2 s, poller default 5 min (reconnect_max default), idle; CPU = process.cpuUsage(); attempts = polls (each opens one connection: the pool is empty)`,
    },
    alarmToHealthy: healJson(heal, hs),
    pollCost: { counterReadCost: self, sizes: costJson(costs) },
    outage: outageJson(windows),
    passwordInLog: leaked,
    table: text.split('\n'),
    notes,
  };
  const [file, latest] = writeResults('alarms', startedAt, doc);
  process.stdout.write(`\n${text}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n\nresults: ${file}\n         ${latest}\n`);
  const unrecovered = heal.trials.filter((t) => t.ms === null).length;
  const badDown = windows.filter((w) => w.kind === 'poller' && w.downLines !== 1).length;
  if (unrecovered) out.line(`${unrecovered} alarm trial(s) did not recover`);
  if (badDown) out.line(`${badDown} poller window(s) did not log exactly one "down" line`);
  return unrecovered || badDown || leaked ? 1 : 0;
}

async function cleanup(): Promise<void> {
  out.done();
  await monitor?.stop().catch(() => undefined);
  await root?.end().catch(() => undefined);
  await db?.destroy().catch((e: unknown) => out.line(`cleanup: MariaDB: ${e instanceof Error ? e.message : String(e)}`));
  for (const n of await lab.cleanup()) out.line(`cleanup: ${n}`);
}

runBench(main, cleanup, out);
