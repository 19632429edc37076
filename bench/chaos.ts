/**
 * `npm run chaos`: the chaos run (test/chaos/). Each fault in its own fresh PM2_HOME with the
 * example app, the monitor in `run` mode and `check` as a timer would run it; a table on stdout,
 * JSON in bench/results/; exit 0 when every row met its expectation, 1 when one did not, 2 on bad
 * usage. Loopback only, ports 48900-48999 by default. See README.md, "Chaos run".
 */
import { tmpdir } from 'node:os';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXAMPLE_APP } from '../test/helpers/sandbox.js';
import { FAULTS, type Fault } from '../test/chaos/faults.js';
import { makeRunDir, type Pace, type Rig } from '../test/chaos/rig.js';
import { runRow, type RowResult } from '../test/chaos/runner.js';
import { medianOf, renderTable, summarizeFault, type FaultSummary } from '../test/chaos/report.js';
import { createSystemUser, type SystemUser } from '../test/chaos/user.js';
import { machine, pm2Version, writeResults } from './lib/proc.js';

const HELP = `Usage: npm run chaos -- [--only FAULT[,FAULT...]] [--repeat N] [--quick]
                       [--deadline SECONDS] [--cap SECONDS] [--port FIRST]

Injects each fault into a fresh PM2_HOME (the example app, the monitor in run mode, check
every few seconds as a timer would) and checks the expected outcome. Prints a table and
writes bench/results/chaos-<time>.json and latest-chaos.json.

  --only FAULT     run only these faults (repeatable, or a comma list)
  --repeat N       trials per fault; the time to healthy is their median (default 3)
  --quick          one trial per fault, faster probes and timer (CI)
  --deadline S     how long a row may take to recover after its fault (default 60)
  --cap S          the whole run's cap, per trial pass (default 600)
  --port FIRST     the first of the 100 loopback ports used (default 48900)
  -h, --help       this text

Faults: ${FAULTS.map((f) => f.name).join(', ')}

Exit codes: 0 every row met its expectation, 1 a row missed it (or left a process behind,
or the cap passed), 2 bad usage (an unknown fault).
`;

function usage(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}`);
  process.exit(2);
}

function parse(): { faults: Fault[]; repeat: number; quick: boolean; deadlineMs: number; capMs: number; port: number } {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        only: { type: 'string', multiple: true }, repeat: { type: 'string' }, quick: { type: 'boolean' },
        deadline: { type: 'string' }, cap: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) usage(`--${name}: expected an integer ${min}..${max}, got "${v}"`);
    return n;
  };
  const names = (values.only ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !FAULTS.some((f) => f.name === n));
  if (unknown.length > 0) usage(`unknown fault${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}\nthe faults are: ${FAULTS.map((f) => f.name).join(', ')}`);
  const quick = values.quick === true;
  return {
    faults: names.length === 0 ? [...FAULTS] : FAULTS.filter((f) => names.includes(f.name)),
    repeat: int('repeat', values.repeat, quick ? 1 : 3, 1, 20),
    quick,
    deadlineMs: int('deadline', values.deadline, 60, 5, 600) * 1000,
    capMs: int('cap', values.cap, 600, 30, 7200) * 1000,
    port: int('port', values.port, 48900, 1024, 65436),
  };
}

const opts = parse();
const pace: Pace = opts.quick
  ? { interval: '1s', timeout: '500ms', timeoutMs: 500, failureThreshold: 2, timerMs: 5000 }
  : { interval: '2s', timeout: '1s', timeoutMs: 1000, failureThreshold: 2, timerMs: 10_000 };
const live = new Set<Rig>();
const say = (line: string): void => void process.stderr.write(`${line}\n`);
const { dir: runDir, appDir, appScript } = makeRunDir(tmpdir(), EXAMPLE_APP);
let user: SystemUser | string = 'not needed';
let cleaning = false;

async function cleanup(): Promise<string[]> {
  const left: string[] = [];
  for (const rig of [...live]) left.push(...(await rig.cleanup().catch(() => [])));
  live.clear();
  if (typeof user !== 'string') user.remove();
  rmSync(runDir, { recursive: true, force: true });
  return left;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (cleaning) process.exit(sig === 'SIGINT' ? 130 : 143);
    cleaning = true;
    say(`\n${sig}: cleaning up (a second ${sig} exits at once)`);
    void cleanup().then((left) => {
      if (left.length) say(`ended leftovers: ${left.join('; ')}`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  });
}

async function main(): Promise<number> {
  const startedAt = new Date();
  if (opts.faults.some((f) => f.needsRoot)) user = createSystemUser();
  say(`chaos run: ${opts.faults.length} fault(s) x ${opts.repeat}${opts.quick ? ' (quick)' : ''}, deadline ${opts.deadlineMs / 1000} s, cap ${opts.capMs / 1000} s per pass; ports ${opts.port}-${opts.port + 99}`);
  if (typeof user === 'string' && user !== 'not needed') say(`another user's squatters: skipped (${user})`);
  const results: RowResult[] = [];
  const until = performance.now() + opts.capMs * opts.repeat;
  let capped = false;
  let seq = 0;
  outer: for (let trial = 1; trial <= opts.repeat; trial++) {
    for (const fault of opts.faults) {
      if (cleaning) break outer;
      if (performance.now() > until) {
        capped = true;
        break outer;
      }
      const slot = seq++ % 25;
      const ports = [0, 1, 2, 3].map((i) => opts.port + slot * 4 + i);
      say(`[${trial}/${opts.repeat}] ${fault.name} ...`);
      const r = await runRow(fault, trial, { runDir, appScript, appDir, ports, deadlineMs: opts.deadlineMs, quick: opts.quick, pace, user, live, say });
      results.push(r);
      say(`[${trial}/${opts.repeat}] ${fault.name}: ${r.status}${r.healthyMs === null ? '' : `, healthy after ${(r.healthyMs / 1000).toFixed(2)} s`} (${(r.elapsedMs / 1000).toFixed(1)} s)${r.notes.length ? `: ${r.notes.join('; ')}` : ''}`);
    }
  }
  if (cleaning) return 130;
  const sums: FaultSummary[] = opts.faults.map((f) => summarizeFault(f.name, f.expected, results.filter((r) => r.fault === f.name)));
  process.stdout.write(`\n${renderTable(sums)}\n`);
  const daemon = results.filter((r) => r.fault === 'daemon-kill');
  const daemonMs = medianOf(daemon.map((r) => r.healthyMs));
  const ran = results.filter((r) => r.rssStartKiB !== undefined);
  const rss = {
    note: 'each row runs its own monitor: VmRSS once it had looked at every app, and at the end of the row',
    startMedianKiB: medianOf(ran.map((r) => r.rssStartKiB)),
    endMedianKiB: medianOf(ran.map((r) => r.rssEndKiB)),
    maxEndKiB: ran.length ? Math.max(...ran.map((r) => r.rssEndKiB ?? 0)) : null,
  };
  const missed = sums.filter((s) => s.status === 'missed');
  const foreign = sums.reduce((a, s) => a + s.foreignKills, 0);
  const leftovers = results.flatMap((r) => r.leftovers.map((l) => `${r.fault}#${r.trial}: ${l}`));
  process.stdout.write(`\ndaemon kill -> all apps healthy (median): ${daemonMs === null ? 'n/a' : `${(daemonMs / 1000).toFixed(2)} s`}\n`);
  process.stdout.write(`monitor RSS (median of rows): ${rss.startMedianKiB === null ? '?' : (rss.startMedianKiB / 1024).toFixed(1)} MiB at start, ${rss.endMedianKiB === null ? '?' : (rss.endMedianKiB / 1024).toFixed(1)} MiB at the end of a row\n`);
  process.stdout.write(`foreign kills: ${foreign}; leftovers: ${leftovers.length === 0 ? 'none' : leftovers.join('; ')}\n`);
  if (capped) process.stdout.write(`the cap (${opts.capMs / 1000} s per pass) passed: the remaining rows were not run\n`);
  const ok = missed.length === 0 && foreign === 0 && leftovers.length === 0 && !capped;
  const doc = {
    bench: 'chaos',
    at: startedAt.toISOString(),
    machine: machine(),
    pm2: pm2Version(),
    options: { quick: opts.quick, repeat: opts.repeat, deadlineMs: opts.deadlineMs, capMs: opts.capMs, pace, root: process.getuid?.() === 0 },
    ok,
    rows: sums,
    daemonKillToHealthyMs: { medianMs: daemonMs, trialsMs: daemon.map((r) => r.healthyMs) },
    monitorRss: rss,
    foreignKills: foreign,
    leftovers,
    capped,
    trials: results,
  };
  const [file, latest] = writeResults('chaos', startedAt, doc);
  process.stdout.write(`\nresults: ${file}\n         ${latest}\n${ok ? 'every row met its expectation' : `missed: ${missed.map((s) => s.fault).join(', ') || (capped ? 'the cap' : 'leftovers/foreign kills')}`}\n`);
  return ok ? 0 : 1;
}

main().then(
  async (code) => {
    cleaning = true;
    const left = await cleanup();
    if (left.length) say(`ended leftovers: ${left.join('; ')}`);
    process.exit(code);
  },
  async (err: unknown) => {
    cleaning = true;
    say(`chaos run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanup();
    process.exit(1);
  },
);
