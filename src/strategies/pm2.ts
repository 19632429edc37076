/**
 * The PM2 strategy and its steps, shared by remedies and the wrapper commands: stop through PM2
 * (so PM2 does not respawn behind our back), free the app's ports under its safety scope, start
 * by pm_id; or, for a remedy when the app alone holds its ports, PM2's own restart (it counts it).
 */
import type { Clock } from '../clock.js';
import type { AppConfig } from '../config/schema.js';
import type { Pm2Port, ProcessInfo } from '../pm2/adapter.js';
import { probePm2Status } from '../probes/pm2-status.js';
import { runFreePorts, surveyPorts, type PortSurvey } from '../ports/async.js';
import { buildScope } from '../ports/context.js';
import type { FreePortsResult } from '../ports/free-port.js';
import type { ScopeContext } from '../ports/scope.js';
import { killJudged } from '../ports/kill.js';
import type { KillLog } from '../ports/kill-log.js';
import { identify } from '../proc/identify.js';
import { procAvailable } from '../proc/read.js';
import { descendants } from '../proc/tree.js';
import { waitUntil } from '../proc/wait.js';
import { pm2Home } from '../paths.js';
import { runStep, type StepReporter } from '../steps/steps.js';
import { describeFreed } from '../steps/wording.js';
import { ABANDONED, type JournalInstance, type RestartOptions, type RestartStrategy, type StrategyResult } from './types.js';

export interface Pm2Deps {
  readonly pm2: Pm2Port;
  readonly clock: Clock;
  /** The app's instances seen since the monitor started (pid -> start ticks): still the app's. */
  readonly seen?: (app: string) => ReadonlyMap<number, number>;
  /** The PM2_HOME whose pm_id marks identify apps (default: PM2_HOME of this process). */
  readonly pm2Home?: string;
  /** Where the signals sent and the holders refused are logged (ports/kill-log.ts). */
  readonly killLog?: KillLog;
}

/** The app's instances in a PM2 list (modules are never ours to act on). */
export function instancesOf(app: Pick<AppConfig, 'name'>, list: readonly ProcessInfo[]): ProcessInfo[] {
  return list.filter((p) => p.name === app.name && !p.isModule);
}

/** The safety scope for an app, built from the live process list (before stopping it). */
export function appScope(app: AppConfig, list: readonly ProcessInfo[], deps: Pick<Pm2Deps, 'pm2' | 'seen' | 'pm2Home' | 'killLog'>): ScopeContext {
  const mine = instancesOf(app, list);
  const first = mine.find((p) => p.cwd);
  const otherApps = new Map(list.filter((p) => p.name !== app.name && p.pid > 0).map((p) => [p.pid, p.name] as const));
  const daemonPid = deps.pm2.daemonPid();
  return buildScope({
    scope: app.killScope,
    app: {
      name: app.name,
      pmIds: mine.map((p) => p.pmId),
      pids: mine.map((p) => p.pid),
      ...(deps.seen ? { seen: deps.seen(app.name) } : {}),
      ...(first?.cwd ? { cwd: first.cwd } : {}),
    },
    pm2Home: deps.pm2Home ?? pm2Home(),
    ...(daemonPid ? { daemonPid } : {}),
    otherApps,
    ...(deps.killLog ? { killLog: deps.killLog } : {}),
  });
}

/** The app's scope with its live (online) instances protected: for freeing ports around a running app. */
export function sparingLiveScope(app: AppConfig, list: readonly ProcessInfo[], deps: Pick<Pm2Deps, 'pm2' | 'seen' | 'pm2Home' | 'killLog'>): { scope: ScopeContext; live: number } {
  const live = instancesOf(app, list).filter((p) => p.pid > 0 && p.status === 'online');
  const scope = appScope(app, list, deps);
  const protectedPids = new Map(scope.protectedPids);
  for (const p of live) protectedPids.set(p.pid, `a live instance of ${app.name}`);
  return { scope: { ...scope, protectedPids }, live: live.length };
}

/** Free the app's ports around its live instances (wrapper start/reload, cleanup-ports, hook). */
export async function freePortsAroundLive(app: AppConfig, deps: Pm2Deps, dryRun = false): Promise<FreePortsResult & { live: number }> {
  let list: ProcessInfo[] = [];
  try {
    list = await deps.pm2.list();
  } catch {
    // PM2 unreachable: no pids to spare; the never-killed list and the scope still hold
  }
  const { scope, live } = sparingLiveScope(app, list, deps);
  const r = await runFreePorts({ ports: app.ports, scope, graceMs: app.killGraceMs, now: () => deps.clock.now(), dryRun });
  return { ...r, live };
}

/**
 * Stop (or restart) every instance of the app through PM2. When the app is hung, kill its
 * processes as soon as PM2 has marked them stopping, instead of waiting PM2's kill_timeout on a
 * frozen process. The victims are identified (start time, lineage) now, judged against the app's
 * scope, and re-checked right before the SIGKILL: a pid PM2 already reaped and the system reused
 * is left alone (so is the new instance of a restart: another pid, another start time).
 */
async function stopApp(app: AppConfig, list: readonly ProcessInfo[], hung: boolean, deps: Pm2Deps, scope: ScopeContext, action: 'stop' | 'restart' = 'stop'): Promise<void> {
  const mine = instancesOf(app, list);
  const pids = mine.map((p) => p.pid).filter((pid) => pid > 0);
  const victims = hung && procAvailable ? [...pids, ...descendants(pids)].map(identify).filter((v) => v !== undefined) : [];
  const acts = mine.map((p) => deps.pm2.act(action, p.pmId));
  if (hung) {
    // Until no old instance is online: a restart's new instance is online again under a new pid.
    const old = new Set(pids);
    const gone = (l: readonly ProcessInfo[]): boolean => instancesOf(app, l).every((p) => p.status !== 'online' || !old.has(p.pid));
    await waitUntil(async () => gone(await deps.pm2.list()), { limitMs: 1000, now: () => deps.clock.now(), firstMs: 5, maxMs: 20 });
    for (const v of victims) killJudged(v, scope, 'SIGKILL');
  }
  await Promise.all(acts);
}

/** The first step of every PM2 action: PM2's list, with at least one instance of the app in it. */
export async function lookUpApp(app: AppConfig, deps: Pick<Pm2Deps, 'pm2'>, report: StepReporter): Promise<{ ok: true; list: ProcessInfo[] } | { ok: false; detail: string }> {
  const found = await runStep(report, 'look up the app in PM2', () => deps.pm2.list(), (l) => {
    const n = instancesOf(app, l).length;
    return [n > 0, n > 0 ? `${n} instance(s)` : `no PM2 app named "${app.name}"`];
  });
  if (found.ok) return { ok: true, list: found.value };
  return { ok: false, detail: found.value ? `no PM2 app named "${app.name}" (start it the first time from its ecosystem file)` : `cannot list PM2 processes: ${found.detail}` };
}

/**
 * Look the app up, stop it through PM2, free its ports, and (for a restart) start every known
 * instance by pm_id. Never throws.
 */
export async function stopFreeStart(op: 'stop' | 'restart', app: AppConfig, deps: Pm2Deps, report: StepReporter, hung = false): Promise<StrategyResult> {
  const found = await lookUpApp(app, deps, report);
  if (!found.ok) return { ok: false, detail: found.detail };
  return cycle(op, app, found.list, deps, report, { hung });
}

/** The instances as the journal records them. */
function journalInstances(app: AppConfig, list: readonly ProcessInfo[]): JournalInstance[] {
  return instancesOf(app, list).map((p) => ({ pmId: p.pmId, pid: p.pid, restarts: p.restarts, startedAt: p.startedAt }));
}

/**
 * Stop, free the ports, start. The scope is built before stopping: the app's pids and their
 * children are known only while they run.
 */
async function cycle(op: 'stop' | 'restart', app: AppConfig, list: readonly ProcessInfo[], deps: Pm2Deps, report: StepReporter, options: RestartOptions): Promise<StrategyResult> {
  const fail = (detail: string, ports?: FreePortsResult): StrategyResult => ({ ok: false, detail, ...(ports ? { ports } : {}) });
  const hung = options.hung === true;
  const scope = appScope(app, list, deps);
  // Only a restart is journaled: a stop is meant to leave the app stopped.
  const note = op === 'restart' ? options.journal : undefined;
  const instances = journalInstances(app, list);
  // Stop first, so PM2 cannot respawn the app into a port we are freeing.
  note?.('stopping', instances);
  const stopped = await runStep(report, 'stop through PM2', () => stopApp(app, list, hung, deps, scope), () => [true, hung ? 'stopped (hung: killed at once)' : 'stopped']);
  if (!stopped.ok) return fail(`stop failed: ${stopped.detail}`);
  note?.('stopped', instances);
  if (options.signal?.aborted) return fail(ABANDONED);
  let ports: FreePortsResult | undefined;
  if (app.ports.length > 0) {
    const label = `${op === 'stop' ? 'confirm' : 'free'} ports ${app.ports.join(',')}${op === 'stop' ? ' are free' : ''}`;
    const freed = await runStep(report, label, () => runFreePorts({ ports: app.ports, scope, graceMs: app.killGraceMs, now: () => deps.clock.now() }), (r) => [r.free, describeFreed(r)]);
    ports = freed.value;
    // Starting into a port we could not free would only feed PM2's EADDRINUSE loop.
    if (!freed.ok) return fail(`port still held: ${freed.detail}`, ports);
  }
  const withPorts = ports ? { ports } : {};
  if (op === 'stop') return { ok: true, detail: app.ports.length > 0 ? 'stopped, ports free' : 'stopped', ...withPorts };
  if (options.signal?.aborted) return fail(ABANDONED, ports);
  note?.('starting', instances);
  const started = await runStep(report, 'start through PM2', () => Promise.all(instancesOf(app, list).map((p) => deps.pm2.act('restart', p.pmId))), () => [true, 'started']);
  if (!started.ok) return fail(`start failed: ${started.detail}`, ports);
  return { ok: true, detail: 'started', ...withPorts };
}

/**
 * A remedy's restart. When every instance is online and holds the app's ports, and nothing else
 * listens on them (the PM2 daemon aside: it holds a cluster app's socket), PM2's own restart does
 * what stop, free, start would (the stop with kill_timeout and tree kill, then the start), and PM2
 * counts it in `restarts`. That is the usual hang. Otherwise: stop, free, start, which PM2 counts
 * as nothing (a stop, then a start of a stopped app). A stray holds a port; or the app is not
 * online; or a port has no listener: the app crashed or is starting, and a stranger may bind the
 * port any moment (the free step, right before the start, looks again). Never throws.
 */
export async function remedyRestart(app: AppConfig, deps: Pm2Deps, report: StepReporter, options: RestartOptions = {}): Promise<StrategyResult> {
  const hung = options.hung === true;
  const found = await lookUpApp(app, deps, report);
  if (!found.ok) return { ok: false, detail: found.detail };
  const list = found.list;
  if (!(await holdsItsPortsAlone(app, list, deps, report))) return cycle('restart', app, list, deps, report, options);
  if (options.signal?.aborted) return { ok: false, detail: ABANDONED };
  const scope = appScope(app, list, deps);
  // The daemon finishes a restart it was sent whatever becomes of us; journaled all the same.
  options.journal?.('restarting', journalInstances(app, list));
  const restarted = await runStep(report, 'restart through PM2', () => stopApp(app, list, hung, deps, scope, 'restart'), () => [true, hung ? 'restarted (hung: killed at once)' : 'restarted']);
  if (!restarted.ok) return { ok: false, detail: `restart failed: ${restarted.detail}` };
  return { ok: true, detail: 'restarted by PM2' };
}

/** Are all instances online, and do they alone listen on every port of the app? The survey is a step of its own. */
async function holdsItsPortsAlone(app: AppConfig, list: readonly ProcessInfo[], deps: Pm2Deps, report: StepReporter): Promise<boolean> {
  const mine = instancesOf(app, list);
  if (!mine.every((p) => p.status === 'online' && p.pid > 0)) return false;
  if (app.ports.length === 0) return true;
  const daemon = deps.pm2.daemonPid();
  const pids = [...mine.map((p) => p.pid), ...(daemon ? [daemon] : [])];
  const survey = await runStep(report, `survey ports ${app.ports.join(',')}`, () => surveyPorts(app.ports, pids), (s) => [true, describeSurvey(s)]);
  const s = survey.value;
  return s !== undefined && s.strays.length === 0 && s.empty.length === 0;
}

function describeSurvey(s: PortSurvey | undefined): string {
  if (s === undefined) return 'an instance is exiting: stop, free, start';
  if (s.strays.length > 0) return `something other than the app listens on port ${s.strays.join(',')}: stop, free, start`;
  if (s.empty.length > 0) return `nothing listens on port ${s.empty.join(',')}: stop, free, start`;
  return 'only the app listens on its ports: PM2 restarts it';
}

/** Apps PM2 runs: status from PM2's table; a remedy restarts through PM2 (remedyRestart). */
export function pm2Strategy(deps: Pm2Deps): RestartStrategy {
  return {
    name: 'pm2',
    readsTable: true,
    status: (app, table) => probePm2Status(app.name, table),
    restart: (app, reporter, options) => remedyRestart(app, deps, reporter, options),
  };
}
