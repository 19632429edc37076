/**
 * `npm run bench`: time to healthy after a hang (SIGSTOP) and after a crash with a port squatter,
 * WITH the monitor and with PM2 ALONE, in the same run against one isolated PM2 daemon, plus the
 * app's cold start (the floor) and the monitor's memory. Prints a table and writes JSON to
 * bench/results/. See bench/README.md for what each number means.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { EXAMPLE_APP, ROOT } from '../test/helpers/sandbox.js';
import { injectFault, waitForNewPid, waitHealthy } from './lib/health.js';
import { Lab, type LabApp, type MonitorSettings } from './lib/lab.js';
import type { MonitorChild, MonitorMemory } from './lib/monitor-child.js';
import { findFreePorts, portHolders } from './lib/ports.js';
import { Output } from './lib/progress.js';
import { jsonNumber, secs, summarize, summaryJson, table, type Summary } from './lib/stats.js';
import { benchFlags, listFlag } from './lib/args.js';
import { armSquatter, endSquatter } from '../test/helpers/late-squatter.js';

const HELP = `Usage: npm run bench -- [--trials N] [--cap SECONDS] [--cold-trials N] [--port FIRST]
                       [--scenarios hang,squatter,late] [--late-delay MS]

Time to healthy after a hang (SIGSTOP) and after a crash with a port squatter, with
helpdesk-monitor and with PM2 alone, plus the app's cold start and the monitor's RSS; and
(late) a kill -9 of the app followed by a stranger binding its port, with the monitor.

  --trials N        trials per scenario and per side (default 5)
  --cap SECONDS     how long PM2 alone gets before a trial counts as never (default 10)
  --monitor-cap S   how long the monitor gets before a trial counts as failed (default 20)
  --cold-trials N   cold-start trials (default 10)
  --port FIRST      first loopback port to try (default 47500; three are used)
  --scenarios LIST  which scenarios to run (default hang,squatter,late)
  --late-delay MS   late squatter: it binds a random 0..MS ms after the kill (default 60)
`;

const { values: opts } = parseArgs({
  options: {
    trials: { type: 'string', default: '5' },
    cap: { type: 'string', default: '10' },
    'monitor-cap': { type: 'string', default: '20' },
    'cold-trials': { type: 'string', default: '10' },
    port: { type: 'string', default: '47500' },
    scenarios: { type: 'string', default: 'hang,squatter,late' },
    'late-delay': { type: 'string', default: '60' },
    help: { type: 'boolean', short: 'h' },
  },
});
const intArg = benchFlags(HELP, opts.help);
const TRIALS = intArg('trials', opts.trials, 1);
const CAP_MS = intArg('cap', opts.cap, 1) * 1000;
const MONITOR_CAP_MS = intArg('monitor-cap', opts['monitor-cap'], 1) * 1000;
const COLD_TRIALS = intArg('cold-trials', opts['cold-trials'], 1);
const FIRST_PORT = intArg('port', opts.port, 1024);
const SCENARIOS = new Set(listFlag(HELP, 'scenarios', opts.scenarios, (x) => ['hang', 'squatter', 'late'].includes(x), 'hang, squatter and/or late'));
const LATE_DELAY_MS = intArg('late-delay', opts['late-delay'], 0);

const SETTINGS: MonitorSettings = { interval: '1s', timeout: '500ms', failureThreshold: 2, startupGrace: '2s' };
const INTERVAL_MS = 1000;
const TIMEOUT_MS = 500;
const GRACE_MS = 2000;

const APP_DIR = dirname(EXAMPLE_APP);
const out = new Output(process.stderr);
const lab = new Lab('bench', (l) => out.line(l));

interface MonitorTrial {
  readonly ms: number | null;
  readonly newPid?: number;
  /** Random wait before the fault, to sample every phase of the monitor's check loop. */
  readonly phaseDelayMs: number;
  /** The monitor's own report: from the start of its remedy to verified health. */
  readonly remedyMs?: number;
  readonly restartsDelta?: number;
  readonly eaddrinuse?: number;
  readonly squattersKilledByMonitor?: number[];
  readonly leftoverSquatters?: number[];
}

interface AloneTrial {
  readonly ms: number | null;
  readonly finalStatus: string;
  /** errored (PM2 gave up), restart loop (still cycling at the cap), or the status. */
  readonly outcome: string;
  readonly samePid?: boolean;
  readonly restartsDelta?: number;
  /** When PM2 marked the app errored (ms after injection), if it did within the cap. */
  readonly erroredAfterMs?: number;
  readonly eaddrinuse?: number;
}

const mib = (kib: number): string => (kib / 1024).toFixed(1);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One per failed listen in the app's error log (the stack prints the code twice). */
const EADDRINUSE = 'listen EADDRINUSE';

function countInFile(file: string, needle: string): number {
  try {
    return readFileSync(file, 'utf8').split(needle).length - 1;
  } catch {
    return 0;
  }
}

function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return undefined;
  }
}

function pm2Version(): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'pm2', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

async function coldStart(app: LabApp): Promise<number[]> {
  const sb = lab.sb!;
  const times: number[] = [];
  for (let i = 0; i < COLD_TRIALS; i++) {
    out.progress(`cold start ${i + 1}/${COLD_TRIALS}`);
    const info = await lab.info(app.name);
    await sb.pm2.act('stop', info.pmId);
    const until = performance.now() + 5000;
    while (portHolders([app.port]).length > 0 && performance.now() < until) await sleep(5);
    await sleep(100);
    const t0 = performance.now();
    const started = sb.pm2.act('restart', info.pmId);
    const rec = await waitForNewPid(app.port, info.pid, { t0, capMs: 10_000, pollMs: 2, signal: lab.abort.signal });
    await started;
    if (!rec) throw new Error(`cold start: ${app.name} did not answer within 10 s`);
    times.push(rec.ms);
  }
  out.done();
  return times;
}

async function monitorTrial(kind: 'hang' | 'squatter', app: LabApp, monitor: MonitorChild, i: number): Promise<MonitorTrial> {
  const label = `${kind} with monitor ${i + 1}/${TRIALS}`;
  const pid = await lab.settle(app, { minUptimeMs: GRACE_MS + 200, monitor, onWait: (s) => out.progress(`${label}: settling (${s})`) });
  const before = await lab.info(app.name);
  const errsBefore = countInFile(lab.errLog(app.name), EADDRINUSE);
  const phaseDelayMs = Math.round(Math.random() * INTERVAL_MS);
  await sleep(phaseDelayMs);
  const mark = monitor.mark();
  const t0 = performance.now();
  if (kind === 'hang') lab.freeze(pid);
  else void injectFault(app.port, 'squat');
  const rec = await waitForNewPid(app.port, pid, {
    t0, capMs: MONITOR_CAP_MS, pollMs: 10, signal: lab.abort.signal,
    onTick: (ms) => out.progress(`${label}: waiting ${secs(ms, 1)}`),
  });
  if (kind === 'hang') lab.thaw(pid);
  if (monitor.since(mark).some((l) => /starting remedy/.test(l))) {
    await monitor.waitFor(/remedy (succeeded|failed)/, 5000, mark).catch(() => undefined);
  }
  const remedyMs = monitor.remedyMsSince(mark);
  const trial: MonitorTrial = { ms: rec ? rec.ms : null, phaseDelayMs, ...(rec ? { newPid: rec.pid } : {}), ...(remedyMs === undefined ? {} : { remedyMs }) };
  let extra: Partial<MonitorTrial> = {};
  if (kind === 'squatter') {
    const after = await lab.info(app.name);
    const killed = monitor.since(mark).flatMap((l) => [...l.matchAll(/killed pid (\d+)/g)].map((m) => Number(m[1])));
    const left = await lab.killSquatters([app.port], after.pid > 0 ? [after.pid] : []);
    extra = {
      restartsDelta: after.restarts - before.restarts,
      eaddrinuse: countInFile(lab.errLog(app.name), EADDRINUSE) - errsBefore,
      squattersKilledByMonitor: [...new Set(killed)],
      leftoverSquatters: left.map((h) => h.pid),
    };
  }
  out.done();
  out.line(`  ${label}: ${rec ? secs(rec.ms) : `not healthy within ${secs(MONITOR_CAP_MS, 0)}`}${remedyMs === undefined ? '' : ` (remedy ${secs(remedyMs)})`}`);
  // Clean state for the next trial. A recovered app is already a fresh process (the monitor
  // restarted it); restarting it again here would only make the monitor react to our restart.
  if (!rec) {
    await lab.killSquatters([app.port], []);
    await lab.restartApp(app);
  }
  return { ...trial, ...extra };
}

/** A kill -9 of the app, then a stranger (same user, the app's directory) binds its port. */
interface LateTrial {
  readonly ms: number | null;
  readonly phaseDelayMs: number;
  /** When the squatter was told to bind, ms after the kill. */
  readonly bindDelayMs: number;
  /** listening: it got the port; lost: the app's new instance was first (no fault left). */
  readonly squatter: string;
  /** From the kill to the monitor's "starting remedy" line (its arrival here). */
  readonly detectMs?: number;
  readonly remedyMs?: number;
  /** Each remedy the monitor started: its reason and hung flag, as logged. */
  readonly remedies: readonly { readonly reason: string; readonly hung: boolean }[];
  readonly killedSquatter: boolean;
  /** The remedy's steps with their durations, from its log line. */
  readonly steps?: string;
  readonly restartsDelta: number;
  readonly eaddrinuse: number;
}

const STARTING = /unhealthy: (.*); starting (?:the half-open trial )?remedy.*?hung=(true|false)/;

async function lateTrial(app: LabApp, monitor: MonitorChild, i: number): Promise<LateTrial> {
  const label = `late squatter with monitor ${i + 1}/${TRIALS}`;
  const pid = await lab.settle(app, { minUptimeMs: GRACE_MS + 200, monitor, onWait: (s) => out.progress(`${label}: settling (${s})`) });
  const before = await lab.info(app.name);
  const errsBefore = countInFile(lab.errLog(app.name), EADDRINUSE);
  const squatter = await armSquatter(app.port, APP_DIR, lab.sb!.env);
  const phaseDelayMs = Math.round(Math.random() * INTERVAL_MS);
  const bindDelayMs = Math.round(Math.random() * LATE_DELAY_MS);
  await sleep(phaseDelayMs);
  const mark = monitor.mark();
  const t0 = performance.now();
  process.kill(pid, 'SIGKILL'); // the lab's own app, by pid
  if (bindDelayMs === 0) squatter.fire();
  else setTimeout(() => squatter.fire(), bindDelayMs);
  const rec = await waitForNewPid(app.port, pid, {
    t0, capMs: MONITOR_CAP_MS, pollMs: 10, signal: lab.abort.signal,
    onTick: (ms) => out.progress(`${label}: waiting ${secs(ms, 1)}`),
  });
  const outcome = await Promise.race([squatter.outcome, sleep(200).then(() => 'silent')]);
  // Let a remedy in progress finish before counting (its verify may still run).
  if (monitor.since(mark).some((l) => /starting remedy/.test(l))) await monitor.waitFor(/remedy (succeeded|failed)/, 5000, mark).catch(() => undefined);
  await sleep(300);
  const lines = monitor.since(mark);
  // The same lines with their arrival times (since() keeps only the text).
  const timed = lines.length > 0 ? monitor.lines.slice(-lines.length) : [];
  const remedies = lines.flatMap((l) => {
    const m = STARTING.exec(l);
    return m ? [{ reason: m[1]!, hung: m[2] === 'true' }] : [];
  });
  const firstStart = timed.find((l) => STARTING.test(l.text))?.at;
  const remedyMs = monitor.remedyMsSince(mark);
  const after = await lab.info(app.name);
  const killedSquatter = lines.some((l) => l.includes(`killed pid ${squatter.pid} `));
  const steps = lines.map((l) => /remedy (?:succeeded|failed).* steps="([^"]*)"/.exec(l)?.[1]).find((x) => x !== undefined);
  endSquatter(squatter);
  const left = await lab.killSquatters([app.port], after.pid > 0 ? [after.pid] : []);
  const trial: LateTrial = {
    ms: rec ? rec.ms : null, phaseDelayMs, bindDelayMs, squatter: outcome, remedies, killedSquatter, ...(steps === undefined ? {} : { steps }),
    restartsDelta: after.restarts - before.restarts,
    eaddrinuse: countInFile(lab.errLog(app.name), EADDRINUSE) - errsBefore,
    ...(firstStart === undefined ? {} : { detectMs: Math.round(firstStart - t0) }),
    ...(remedyMs === undefined ? {} : { remedyMs }),
  };
  out.done();
  out.line(`  ${label}: ${rec ? secs(rec.ms) : 'not healthy'} (bind +${bindDelayMs} ms, squatter ${outcome}${trial.detectMs === undefined ? '' : `, remedy started +${trial.detectMs} ms`}; ${remedies.map((r) => `hung=${r.hung} "${r.reason}"`).join('; ') || 'no remedy'}; +${trial.restartsDelta} restarts, ${trial.eaddrinuse} EADDRINUSE${left.length ? `, ${left.length} holder(s) left` : ''})${steps ? `\n    remedy steps: ${steps}` : ''}`);
  if (!rec) await lab.restartApp(app);
  return trial;
}

async function aloneHangTrial(app: LabApp): Promise<AloneTrial> {
  const pid = await lab.settle(app, { minUptimeMs: 200 });
  const t0 = performance.now();
  lab.freeze(pid);
  const rec = await waitForNewPid(app.port, pid, { t0, capMs: CAP_MS, pollMs: 25, signal: lab.abort.signal });
  const after = await lab.info(app.name);
  lab.thaw(pid);
  await lab.restartApp(app);
  const samePid = after.pid === pid;
  return { ms: rec ? rec.ms : null, finalStatus: after.status, outcome: `${after.status}${samePid ? ', same frozen pid' : ''}`, samePid };
}

async function aloneSquatTrial(app: LabApp): Promise<AloneTrial> {
  await lab.settle(app, { minUptimeMs: 200 });
  const before = await lab.info(app.name);
  const errsBefore = countInFile(lab.errLog(app.name), EADDRINUSE);
  const t0 = performance.now();
  void injectFault(app.port, 'squat');
  let erroredAfterMs: number | undefined;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const st = (await lab.info(app.name).catch(() => undefined))?.status;
      if (st === 'errored' && erroredAfterMs === undefined) erroredAfterMs = performance.now() - t0;
      await sleep(100);
    }
  })();
  const rec = await waitForNewPid(app.port, before.pid, { t0, capMs: CAP_MS, pollMs: 25, signal: lab.abort.signal });
  watching = false;
  await watcher;
  const after = await lab.info(app.name);
  const restartsDelta = after.restarts - before.restarts;
  const outcome = after.status === 'errored' || erroredAfterMs !== undefined ? 'errored' : restartsDelta > 0 ? 'restart loop' : after.status;
  const trial: AloneTrial = {
    ms: rec ? rec.ms : null,
    finalStatus: after.status,
    outcome,
    restartsDelta,
    eaddrinuse: countInFile(lab.errLog(app.name), EADDRINUSE) - errsBefore,
    ...(erroredAfterMs === undefined ? {} : { erroredAfterMs: Math.round(erroredAfterMs) }),
  };
  await lab.killSquatters([app.port], after.pid > 0 && after.status === 'online' ? [after.pid] : []);
  await lab.restartApp(app);
  return trial;
}

function describeAlone(s: Summary): string {
  if (s.recovered === 0) return `never (>${secs(CAP_MS, 0)}, 0/${s.n})`;
  return `${secs(s.median)} (${s.recovered}/${s.n} recovered)`;
}

async function main(): Promise<number> {
  const started = performance.now();
  const startedAt = new Date();
  out.line(`time-to-healthy benchmark: ${TRIALS} trial(s) per side, PM2 alone capped at ${secs(CAP_MS, 0)}, ${cpus().length} CPU(s), node ${process.version}, pm2 ${pm2Version()}`);
  const [p0, p1, p2] = await findFreePorts(FIRST_PORT, 3);
  const MON: LabApp = { name: 'hd-monitored', port: p0! };
  const HANG: LabApp = { name: 'hd-alone-hang', port: p1! };
  const SQUAT: LabApp = { name: 'hd-alone-squat', port: p2! };
  const sb = await lab.open();
  out.line(`isolated PM2_HOME ${sb.home}; ports ${MON.port} (monitored), ${HANG.port} and ${SQUAT.port} (PM2 alone)`);
  const aloneKinds = (['hang', 'squatter'] as const).filter((k) => SCENARIOS.has(k));
  const apps = [MON, ...(aloneKinds.length > 0 ? [HANG, SQUAT] : [])];
  for (const app of apps) await lab.startApp(app);
  for (const app of apps) await waitHealthy(app.port);

  // 1. Cold start, before the monitor runs: pm2 restart of a stopped app -> first 200.
  const cold = await coldStart(MON);
  const coldS = summarize(cold);
  out.line(`  cold start: median ${secs(coldS.median, 3)} over ${cold.length} (min ${secs(coldS.min, 3)}, max ${secs(coldS.max, 3)})`);

  // 2. The monitor, watching only the monitored app.
  const config = lab.writeConfig([MON], SETTINGS);
  const monitor = lab.startMonitor(config);
  await monitor.waitFor(new RegExp(`\\[${MON.name}\\] \\w+ -> healthy`), 30_000);
  await sleep(2 * INTERVAL_MS); // a few checks in, before any fault
  const memoryAtStart = monitor.memory();
  const cpu0 = cpuMs(monitor.pid);
  const wall0 = performance.now();

  const withMonitor = { hang: [] as MonitorTrial[], squatter: [] as MonitorTrial[] };
  for (const kind of aloneKinds) for (let i = 0; i < TRIALS; i++) withMonitor[kind].push(await monitorTrial(kind, MON, monitor, i));
  const late: LateTrial[] = [];
  if (SCENARIOS.has('late')) for (let i = 0; i < TRIALS; i++) late.push(await lateTrial(MON, monitor, i));

  // 3. PM2 alone: both scenarios side by side on their own apps (each only waits out the cap).
  const alone = { hang: [] as AloneTrial[], squatter: [] as AloneTrial[] };
  for (let i = 0; i < (aloneKinds.length > 0 ? TRIALS : 0); i++) {
    const t0 = performance.now();
    const tick = setInterval(() => out.progress(`PM2 alone ${i + 1}/${TRIALS}: hang and squatter, waiting out the ${secs(CAP_MS, 0)} cap... ${secs(performance.now() - t0, 0)}`), 1000);
    try {
      const [h, s] = await Promise.all([aloneHangTrial(HANG), aloneSquatTrial(SQUAT)]);
      alone.hang.push(h);
      alone.squatter.push(s);
      out.done();
      out.line(`  PM2 alone ${i + 1}/${TRIALS}: hang ${h.ms === null ? 'never' : secs(h.ms)} (still ${h.finalStatus}, ${h.samePid ? 'same pid' : 'new pid'}); squatter ${s.ms === null ? 'never' : secs(s.ms)} (${s.outcome}${s.erroredAfterMs === undefined ? '' : ` after ${secs(s.erroredAfterMs, 1)}`}, ${s.restartsDelta} restarts, ${s.eaddrinuse} EADDRINUSE)`);
    } finally {
      clearInterval(tick);
    }
  }

  // 4. The monitor's footprint, while it still watches the app.
  await lab.settle(MON, { minUptimeMs: 0, monitor });
  const memory: MonitorMemory | undefined = monitor.memory();
  const cpu1 = cpuMs(monitor.pid);
  const wall1 = performance.now();
  const monitorCpu = cpu0 !== undefined && cpu1 !== undefined ? { cpuMs: cpu1 - cpu0, wallMs: wall1 - wall0 } : undefined;

  // 5. Report.
  const threshold = SETTINGS.failureThreshold;
  const targets = {
    hang: threshold * INTERVAL_MS + TIMEOUT_MS + coldS.median + 300,
    squatter: coldS.median + 1000,
  };
  const rows: string[][] = [];
  const scenarios = {} as Record<'hang' | 'squatter' | 'late', unknown>;
  for (const kind of aloneKinds) {
    const m = summarize(withMonitor[kind].map((t) => t.ms));
    const a = summarize(alone[kind].map((t) => t.ms));
    const ratio = m.median / targets[kind];
    rows.push([
      kind === 'hang' ? 'hang (SIGSTOP)' : 'crash + port squatter',
      secs(m.median), secs(m.p90), secs(m.min), secs(m.max), `${m.recovered}/${m.n}`,
      describeAlone(a),
      secs(coldS.median, 3),
      secs(targets[kind]),
      Number.isFinite(ratio) ? `${ratio.toFixed(2)}${ratio <= 1 ? ' (met)' : ' (MISSED)'}` : 'n/a',
    ]);
    scenarios[kind] = {
      target: {
        formula: kind === 'hang' ? 'failure_threshold x interval + timeout + cold start + 0.3 s' : 'cold start + 1 s',
        ms: jsonNumber(targets[kind]),
      },
      withMonitor: { ...summaryJson(m), medianOverTarget: Number.isFinite(ratio) ? Math.round(ratio * 1000) / 1000 : null, trials: withMonitor[kind].map((t) => ({ ...t, ms: t.ms === null ? null : jsonNumber(t.ms) })) },
      pm2Alone: {
        capMs: CAP_MS, ...summaryJson(a),
        recoveredWithinCap: a.recovered,
        trials: alone[kind].map((t) => ({ ...t, ms: t.ms === null ? null : jsonNumber(t.ms) })),
      },
    };
  }
  if (late.length > 0) {
    const m = summarize(late.map((t) => t.ms));
    const ratio = m.median / targets.squatter;
    rows.push([
      'crash + late squatter', secs(m.median), secs(m.p90), secs(m.min), secs(m.max), `${m.recovered}/${m.n}`, '(as squatter)', secs(coldS.median, 3), secs(targets.squatter),
      Number.isFinite(ratio) ? `${ratio.toFixed(2)}${ratio <= 1 ? ' (met)' : ' (MISSED)'}` : 'n/a',
    ]);
    scenarios.late = {
      what: `kill -9 of the app, then a node -e listener in the app's directory (no PM2 marks) binds its port 0..${LATE_DELAY_MS} ms later`,
      target: { formula: 'cold start + 1 s', ms: jsonNumber(targets.squatter) },
      withMonitor: { ...summaryJson(m), medianOverTarget: Number.isFinite(ratio) ? Math.round(ratio * 1000) / 1000 : null, trials: late.map((t) => ({ ...t, ms: t.ms === null ? null : jsonNumber(t.ms) })) },
    };
  }
  rows.push(['cold start (floor)', secs(coldS.median, 3), secs(coldS.p90, 3), secs(coldS.min, 3), secs(coldS.max, 3), `${coldS.recovered}/${coldS.n}`, '-', '-', '-', '-']);

  const header = ['scenario', 'monitor median', 'p90', 'min', 'max', 'ok', 'PM2 alone', 'cold start', 'target', 'median/target'];
  const text = table(header, rows);
  const squatAlone = alone.squatter;
  const outcomes = squatAlone.map((t) => t.outcome).join(', ');
  const restarts = squatAlone.map((t) => t.restartsDelta ?? 0);
  const mSquat = withMonitor.squatter;
  const lateNote = late.length === 0 ? [] : [
    `with monitor, late squatter: squatter got the port in ${late.filter((t) => t.squatter === 'listening').length}/${late.length} trials; remedy started after ${late.map((t) => (t.detectMs === undefined ? '-' : `${t.detectMs}`)).join(', ')} ms; remedies per trial ${late.map((t) => t.remedies.length).join(', ')}; hung=true in ${late.filter((t) => t.remedies.some((r) => r.hung)).length}; reason names the squatter in ${late.filter((t) => /held by pid/.test(t.remedies[0]?.reason ?? '')).length}; PM2 restarts +${late.map((t) => t.restartsDelta).join(', +')}; EADDRINUSE ${late.map((t) => t.eaddrinuse).join(', ')}`,
  ];
  const notes = aloneKinds.length === 0 ? lateNote : [
    ...lateNote,
    `PM2 alone, squatter: outcome per trial ${outcomes}; restarts per trial ${restarts.join(', ')}; errored after ${squatAlone.map((t) => (t.erroredAfterMs === undefined ? '-' : secs(t.erroredAfterMs, 1))).join(', ')}; EADDRINUSE per trial ${squatAlone.map((t) => t.eaddrinuse).join(', ')}`,
    `PM2 alone, hang: final status ${[...new Set(alone.hang.map((t) => t.finalStatus))].join('/')}, same pid in ${alone.hang.filter((t) => t.samePid).length}/${alone.hang.length} trials`,
    `with monitor, squatter: PM2 restart count +${mSquat.map((t) => t.restartsDelta).join(', +')} (autorestarts and the monitor's restart); EADDRINUSE per trial ${mSquat.map((t) => t.eaddrinuse).join(', ')}; leftover squatters ${mSquat.reduce((n, t) => n + (t.leftoverSquatters?.length ?? 0), 0)}`,
    `with monitor, remedy alone (monitor's own report, start of remedy -> verified): hang median ${secs(summarize(withMonitor.hang.map((t) => t.remedyMs ?? null)).median)}, squatter median ${secs(summarize(mSquat.map((t) => t.remedyMs ?? null)).median)}`,
    memory
      ? `monitor memory at the end: VmRSS ${mib(memory.rssKiB)} MiB, peak VmHWM ${mib(memory.hwmKiB)} MiB (pid ${monitor.pid}, watching 1 app${memoryAtStart ? `; VmRSS ${mib(memoryAtStart.rssKiB)} MiB before the first fault` : ''})`
      : 'monitor memory: /proc unavailable',
    ...(monitorCpu ? [`monitor CPU during the trials: ${(monitorCpu.cpuMs / 1000).toFixed(2)} s over ${(monitorCpu.wallMs / 1000).toFixed(0)} s (${((100 * monitorCpu.cpuMs) / monitorCpu.wallMs).toFixed(2)} % of one core, remedies included)`] : []),
  ];

  const doc = {
    benchmark: 'time-to-healthy',
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', loadavg: loadavg(), node: process.version, pm2: pm2Version(), platform: process.platform },
    options: { trials: TRIALS, capMs: CAP_MS, monitorCapMs: MONITOR_CAP_MS, coldTrials: COLD_TRIALS, scenarios: [...SCENARIOS], lateDelayMs: LATE_DELAY_MS },
    monitorConfig: { interval: SETTINGS.interval, timeout: SETTINGS.timeout, failure_threshold: threshold, startup_grace: SETTINGS.startupGrace },
    coldStart: { what: 'pm2 restart of a stopped app -> first 200 on /health from the new pid', ...summaryJson(coldS), trialsMs: cold.map(jsonNumber) },
    scenarios,
    monitor: {
      pid: monitor.pid,
      ...(memory ? { vmRssKiB: memory.rssKiB, vmHwmKiB: memory.hwmKiB, vmRssMiB: Number(mib(memory.rssKiB)) } : {}),
      ...(memoryAtStart ? { vmRssKiBBeforeFaults: memoryAtStart.rssKiB } : {}),
      ...(monitorCpu ? { cpuMs: Math.round(monitorCpu.cpuMs), wallMs: Math.round(monitorCpu.wallMs) } : {}),
    },
    table: text.split('\n'),
    notes,
  };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  // A partial run (--scenarios) keeps its own name: latest-time-to-healthy.json is the full one.
  const part = SCENARIOS.size === 3 ? '' : `-${[...SCENARIOS].join('-')}`;
  const file = join(dir, `time-to-healthy${part}-${stamp}.json`);
  const latest = join(dir, `latest-time-to-healthy${part}.json`);
  const json = `${JSON.stringify(doc, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(latest, json);

  process.stdout.write(`\n${text}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n\nresults: ${file}\n         ${latest}\n`);
  const failed = [...withMonitor.hang, ...withMonitor.squatter, ...late].filter((t) => t.ms === null).length;
  if (failed) out.line(`${failed} trial(s) with the monitor did not recover within ${secs(MONITOR_CAP_MS, 0)}`);
  return failed ? 1 : 0;
}

lab.installSignalHandlers();
main().then(
  async (code) => {
    if (lab.signalled) return;
    const notes = await lab.cleanup();
    for (const n of notes) out.line(`cleanup: ${n}`);
    process.exit(code);
  },
  async (err: unknown) => {
    if (lab.signalled) return;
    out.done();
    out.line(`\nbenchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    const m = lab.monitor;
    if (m) out.line(`last monitor lines:\n${m.lines.slice(-15).map((l) => `  | ${l.text}`).join('\n')}`);
    const notes = await lab.cleanup();
    for (const n of notes) out.line(`cleanup: ${n}`);
    process.exit(1);
  },
);
