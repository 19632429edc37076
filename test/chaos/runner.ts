/**
 * Running one row: a fresh rig, the fault, then what every row counts (our remedies, PM2's own
 * restarts, foreign kills from the kill log) and the leftover check after cleanup. A row that
 * throws or passes its time limit is a missed row with the reason, never a crash of the run.
 */
import { countRemedies, type Fault, type FaultContext } from './faults.js';
import { Rig, sleep, type Pace } from './rig.js';
import type { SystemUser } from './user.js';

export interface RowResult {
  readonly fault: string;
  readonly expected: string;
  readonly trial: number;
  /** passed: every expectation met; missed: one was not; skipped: could not run here (the reason in notes). */
  readonly status: 'passed' | 'missed' | 'skipped';
  readonly recovered: boolean;
  readonly healthyMs: number | null;
  readonly foreignKills: number;
  readonly ours: number;
  readonly pm2: number;
  readonly notes: readonly string[];
  readonly leftovers: readonly string[];
  readonly rssStartKiB?: number;
  readonly rssEndKiB?: number;
  readonly elapsedMs: number;
  /** A missed row: the monitor's last log lines (run's and the timer checks'), for the JSON. */
  readonly logTail?: readonly string[];
}

export interface RowOptions {
  readonly runDir: string;
  readonly appScript: string;
  readonly appDir: string;
  readonly ports: readonly number[];
  readonly deadlineMs: number;
  readonly quick: boolean;
  readonly pace: Pace;
  readonly user: SystemUser | string;
  /** Rigs in flight, for the Ctrl-C cleanup. */
  readonly live: Set<Rig>;
  readonly say: (line: string) => void;
}

/** Setup (daemon, apps, monitor) is allowed this much on top of the row's deadline. */
const SETUP_MS = 60_000;

export async function runRow(fault: Fault, trial: number, o: RowOptions): Promise<RowResult> {
  const started = performance.now();
  const base = { fault: fault.name, expected: fault.expected, trial };
  if (fault.needsRoot && typeof o.user === 'string') {
    return { ...base, status: 'skipped', recovered: false, healthyMs: null, foreignKills: 0, ours: 0, pm2: 0, notes: [`skipped: ${o.user === 'needs root' ? 'needs root' : o.user}`], leftovers: [], elapsedMs: 0 };
  }
  const rig = new Rig(o.runDir, fault.name, o.pace);
  o.live.add(rig);
  const ctx: FaultContext = {
    rig, ports: o.ports, appScript: o.appScript, appDir: o.appDir, deadlineMs: o.deadlineMs, quick: o.quick,
    ...(typeof o.user === 'string' ? {} : { user: o.user }),
  };
  const notes: string[] = [];
  let met = false;
  let recovered = false;
  let healthyMs: number | null = null;
  let ours = 0;
  let pm2 = 0;
  let foreignKills = 0;
  let rssEnd: number | undefined;
  try {
    const limit = o.deadlineMs * 2 + SETUP_MS;
    let timer: NodeJS.Timeout | undefined;
    const out = await Promise.race([
      fault.run(ctx),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`row time limit (${Math.round(limit / 1000)} s) passed`)), limit))),
    ]).finally(() => clearTimeout(timer));
    // Late remedies count too: give the monitor a couple of checks after the outcome.
    await sleep(Number.parseFloat(o.pace.interval) * 2000);
    const log = rig.monitorLog();
    ours = countRemedies(log, out.app);
    pm2 = rig.pm2OwnRestarts(out.app);
    foreignKills = rig.foreignKills().length;
    rssEnd = rig.monitorRss();
    recovered = out.recovered;
    healthyMs = out.healthyMs;
    notes.push(...out.notes);
    const oursOk = ours >= out.ours.min && ours <= out.ours.max;
    if (!oursOk) notes.push(`${ours} remedies of ours, expected ${out.ours.min === out.ours.max ? out.ours.min : `${out.ours.min}-${out.ours.max}`}`);
    const pm2Ok = out.pm2Min === undefined || pm2 >= out.pm2Min;
    if (!pm2Ok) notes.push(`${pm2} PM2 restarts, expected at least ${out.pm2Min}`);
    if (foreignKills > 0) notes.push(`${foreignKills} signal(s) to foreign pids: ${rig.foreignKills().map((e) => `${e.signal} pid ${e.pid}`).join(', ')}`);
    met = out.met && oursOk && pm2Ok && foreignKills === 0;
  } catch (err) {
    notes.push(`error: ${(err as Error).message.split('\n')[0]!.slice(0, 300)}`);
    try {
      foreignKills = rig.foreignKills().length;
    } catch {
      // the state dir may be unreadable
    }
  }
  const logTail = met ? [] : [...rig.monitorLog().slice(-12), ...(rig.monitor?.lines.slice(-6).map((l) => `[run stderr] ${l.text}`) ?? [])];
  if (process.env['HDM_CHAOS_VERBOSE'] && logTail.length) o.say(logTail.join('\n'));
  const rssStart = rig.rssAtStart;
  const leftovers = await rig.cleanup();
  o.live.delete(rig);
  if (leftovers.length > 0) notes.push(`left behind: ${leftovers.join('; ')}`);
  return {
    ...base,
    status: met && leftovers.length === 0 ? 'passed' : 'missed',
    recovered, healthyMs, foreignKills, ours, pm2, notes, leftovers,
    ...(rssStart === undefined ? {} : { rssStartKiB: rssStart }),
    ...(rssEnd === undefined ? {} : { rssEndKiB: rssEnd }),
    elapsedMs: performance.now() - started,
    ...(logTail.length ? { logTail } : {}),
  };
}
