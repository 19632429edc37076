/**
 * `npm run bench:update`: git auto-update with a health gate (src/update/), timed in process
 * against one isolated PM2 daemon and the git deploy fixture: the app's cold start (the floor), a
 * good commit fetched to healthy, a crash-at-boot and a /health-500 commit rolled back to healthy
 * again, the CPU of an update check that finds nothing new, and PM2's own `pm2 pull` with the same
 * crash-at-boot commit (in a child process with its own daemon). Prints a table, writes JSON to
 * bench/results/. See bench/README.md, "update".
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { benchFlags, runBench } from './lib/args.js';
import { findFreePorts } from './lib/ports.js';
import { machine, pm2Version, writeResults } from './lib/proc.js';
import { Output } from './lib/progress.js';
import { secs } from './lib/stats.js';
import { PullChild } from './lib/update-pull.js';
import { notes, updateJson, updateTable, type UpdateRun } from './lib/update-report.js';
import { APP_NAME, SETTINGS, SETTLED_UPTIME_MS, UpdateRig } from './lib/update-rig.js';
import { coldTrial, idleCheck, idleSpawns, spawnBaseline, updateTrial, type ColdTrial, type IdleCheck, type UpdateTrial } from './lib/update-trials.js';

const HELP = `Usage: npm run bench:update -- [--quick] [--trials N] [--idle N]

Git auto-update with a health gate, timed in process (runUpdate from dist/src/update/run-update.js)
against an isolated PM2 daemon (temp PM2_HOME) and a git fixture in a temp dir (bare remote, the
clone PM2 runs, a pusher clone): cold start of the app (the floor); a good commit to healthy; a
crash-at-boot and a /health-500 commit to healthy again (rolled back, verify_timeout 3 s); CPU and
wall time of an update check with nothing new; and PM2's own \`pm2 pull\` with the same
crash-at-boot commit (its own daemon, PM2_ENABLE_GIT_PARSING=true), /health watched for 10 s.
Loopback ports 48440-48449 only.

  --trials N   rounds; each has one trial of the cold start and of each commit kind (default 5, quick 3)
  --idle N     timed idle update checks (default 20, quick 5)
  --quick      the short form
`;

const { values: opts } = parseArgs({
  options: {
    trials: { type: 'string' },
    idle: { type: 'string' },
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
const intArg = benchFlags(HELP, opts.help);
const TRIALS = intArg('trials', opts.trials ?? (opts.quick ? '3' : '5'), 1);
const IDLE = intArg('idle', opts.idle ?? (opts.quick ? '5' : '20'), 1);
const FIRST_PORT = 48440;
const LAST_PORT = 48449;
const PULL_WATCH_MS = 10_000;

const out = new Output(process.stderr);
let rig: UpdateRig | undefined;
const pull = new PullChild();
const abort = new AbortController();

type Measure = 'cold' | 'good' | 'crash-at-boot' | 'health-500';
const MEASURES: readonly Measure[] = ['cold', 'good', 'crash-at-boot', 'health-500'];

function gitVersion(): string {
  try {
    return execFileSync('git', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const started = performance.now();
  const loadStart = loadavg();
  const [mainPort, pullPort] = await findFreePorts(FIRST_PORT, 2, LAST_PORT - FIRST_PORT + 1);
  out.line(`update benchmark: ${TRIALS} round(s), ${IDLE} idle checks; ${machine()['cpus']} CPU(s), node ${process.version}, pm2 ${pm2Version()}, ${gitVersion()}; ports ${mainPort} (ours) and ${pullPort} (pm2 pull)`);

  out.line(`\n== pm2 pull with a crash-at-boot commit (first, in a child process with its own daemon)`);
  const pulled = await pull.run(pullPort!, PULL_WATCH_MS, (l) => out.line(l));
  out.line(`  healthy again: ${pulled.healthyAgainMs === undefined ? 'never' : secs(pulled.healthyAgainMs)}; PM2 ${pulled.status} after ${pulled.restarts} restarts`);

  const r = (rig = new UpdateRig(mainPort!));
  out.progress('opening the sandbox and the git fixture');
  await r.open();
  out.done();
  out.line(`\n== our update: sandbox ${r.sb!.home}; app ${APP_NAME} on ${mainPort}; health interval ${SETTINGS.interval}, timeout ${SETTINGS.timeout}, failure_threshold ${SETTINGS.failureThreshold}, startup_grace ${SETTINGS.startupGrace}; update commands ${JSON.stringify(SETTINGS.commands)}, verify_timeout ${SETTINGS.verifyTimeout}`);
  out.progress('warm-up: one cold start, one good update (not counted)');
  await coldTrial(r);
  await r.settle(r.served, 30_000, abort.signal);
  const warm = await updateTrial(r, 'good');
  if (warm.outcome !== 'applied') throw new Error(`the warm-up update did not apply: ${warm.outcome}: ${warm.detail}`);
  await r.settle(warm.to, 30_000, abort.signal);
  out.done();

  const cold: ColdTrial[] = [];
  const byKind: Record<Exclude<Measure, 'cold'>, UpdateTrial[]> = { good: [], 'crash-at-boot': [], 'health-500': [] };
  for (let round = 0; round < TRIALS; round++) {
    const order = [...MEASURES.slice(round % MEASURES.length), ...MEASURES.slice(0, round % MEASURES.length)];
    for (const m of order) {
      out.progress(`round ${round + 1}/${TRIALS}: ${m}`);
      if (m === 'cold') {
        const t = await coldTrial(r);
        cold.push(t);
        out.done();
        out.line(`  round ${round + 1} cold start: ${t.ms === null ? 'never' : secs(t.ms)} (pid ${t.oldPid} -> ${t.newPid})`);
        await r.settle(r.served, 30_000, abort.signal);
      } else {
        const t = await updateTrial(r, m);
        byKind[m].push(t);
        out.done();
        const healthy = t.healthyMs === undefined ? 'never' : secs(t.healthyMs);
        out.line(`  round ${round + 1} ${m} ${t.from} -> ${t.to}: ${t.outcome} in ${secs(t.returnMs)}, /health ${t.servedAtReturn} at the return; ${m === 'good' ? 'first new 200' : 'old version again'} at ${healthy}${t.ms === null ? ' (NOT AS EXPECTED)' : ''}`);
        await r.settle(t.outcome === 'applied' ? t.to : t.from, 30_000, abort.signal);
      }
    }
  }

  out.line(`\n== idle update checks (nothing new)`);
  out.progress('a good commit first, so the tip is not a commit marked bad');
  const last = await updateTrial(r, 'good');
  if (last.outcome !== 'applied') throw new Error(`the update before the idle checks did not apply: ${last.outcome}: ${last.detail}`);
  await r.settle(last.to, 30_000, abort.signal);
  await idleCheck(r); // warm-up: the first check after an applied update writes the app's memory
  const spawns = await idleSpawns(r);
  await spawnBaseline(r, spawns.length);
  const idle: IdleCheck[] = [];
  const baseline: IdleCheck[] = [];
  for (let i = 0; i < IDLE; i++) {
    out.progress(`idle check ${i + 1}/${IDLE}, and its baseline (${spawns.length} bare git processes)`);
    // Alternated, the first of the pair changing each time: both see the same machine.
    if (i % 2 === 0) idle.push(await idleCheck(r));
    baseline.push(await spawnBaseline(r, spawns.length));
    if (i % 2 === 1) idle.push(await idleCheck(r));
  }
  out.done();

  const run: UpdateRun = { cold, good: byKind.good, crash: byKind['crash-at-boot'], h500: byKind['health-500'], idle, idleBaseline: baseline, idleSpawns: spawns, pull: pulled };
  const loadEnd = loadavg();
  const machineNote = `machine: ${machine()['cpus']} cores; load average ${loadStart.map((x) => x.toFixed(2)).join(', ')} at the start, ${loadEnd.map((x) => x.toFixed(2)).join(', ')} at the end; other work on the machine adds to every wall time (the CPU rows count this process and its git children only)`;
  const text = updateTable(run);
  const noteLines = notes(run, machineNote);
  const doc = {
    benchmark: 'update',
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    machine: { ...machine(), git: gitVersion(), loadavgStart: loadStart, loadavgEnd: loadEnd },
    options: { trials: TRIALS, idleChecks: IDLE, quick: opts.quick, ports: [mainPort, pullPort], pullWatchMs: PULL_WATCH_MS },
    settings: { ...SETTINGS, settledUptimeMs: SETTLED_UPTIME_MS, reload: r.app.update?.reload },
    method: {
      coldStart: 'pm2 restart by pm_id of the running app (adapter act), clock from the call to the first 200 answering a request sent after PM2 answered (the old process has exited by then)',
      update: 'push a commit (good, crash-at-boot, health-500) in the pusher clone outside the clock, then runUpdate(app, { trigger: "schedule" }, deps) in this process, deps as src/app/update-once.ts builds them (the sandbox\'s PM2 adapter, createHttpProber, a notifier with no targets, a file-only winston logger); clock from the call to its return; counted when the outcome is applied (good) / rolled_back (bad) and a GET /health right after the return has 200 and the new (good) / previous (bad) version; /health polled every 10 ms from the same t0 on a fresh connection per request',
      idle: 'runUpdate with nothing new (up_to_date); process.cpuUsage() user+system around it, and cutime+cstime from /proc/self/stat (the reaped git processes, 10 ms ticks); no /health polling meanwhile. Baseline, alternated with the checks: as many bare `git rev-parse HEAD` (src/git/run.ts git()) in the deploy clone, one after another, as one check starts processes (counted by wrapping child_process.spawn for one untimed check)',
      pm2Pull: 'a child process (dist/bench/lib/update-pull-child.js) with its own sandbox, daemon started with PM2_ENABLE_GIT_PARSING=true, the same fixture app; after PM2 has read the app\'s versioning: push crash-at-boot v2, `pm2 pull APP`, /health polled every 10 ms from the call to 10 s after it returned, PM2 status every 100 ms',
      order: 'pm2 pull part first (its daemon killed before ours starts); then a warm-up (one cold start, one good update), then rounds of cold, good, crash-at-boot, health-500, the order rotating; before each trial the app is online, up >= 1.2 s and serves the expected version; then the idle checks',
    },
    ...updateJson(run),
    table: text.split('\n'),
    notes: noteLines,
  };
  const [file, latestFile] = writeResults('update', startedAt, doc);
  process.stdout.write(`\n${text}\n\n${noteLines.map((n) => `- ${n}`).join('\n')}\n\nresults: ${file}\n         ${latestFile}\nrun time ${secs(performance.now() - started, 1)}\n`);
  const bad = [...cold, ...run.good, ...run.crash, ...run.h500].filter((t) => t.ms === null).length;
  if (bad) out.line(`${bad} trial(s) did not end as expected`);
  if (pulled.healthyAgainMs !== undefined) out.line('pm2 pull recovered on its own: the baseline is not what the fixture test says');
  return bad ? 1 : 0;
}

async function cleanup(): Promise<void> {
  abort.abort();
  out.done();
  await pull.stop();
  for (const n of (await rig?.close()) ?? []) out.line(`cleanup: ${n}`);
}

// After Ctrl-C the signal handler cleans up and exits; what fails in main meanwhile (the pull
// child ended, a wait interrupted) is a consequence of that cleanup, not a failure to report.
const quietWhenInterrupted = (): Promise<number> => main().catch((err: unknown) => (abort.signal.aborted ? new Promise<number>(() => undefined) : Promise.reject(err)));
runBench(quietWhenInterrupted, cleanup, out);
