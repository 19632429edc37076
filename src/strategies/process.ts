/**
 * restart_strategy `process`: the original monitor's fallback (`pkill`, then start the process
 * again), under the safety scope. Find the running instance (pidfile and/or a command-line
 * pattern), stop it (SIGTERM, wait, SIGKILL), free the app's ports, start the command in its own
 * session with its output appended to a log file, write the new pid. Each step is reported.
 *
 * Which processes are the app:
 * - the pidfile's pid, when it is alive and still looks like the app (its command line holds the
 *   pattern or the command, or it runs in the app's directory); a pid that now belongs to an
 *   unrelated process is reported and left alone;
 * - processes whose command line contains `pattern` (a plain substring, like `pkill -f`), run by
 *   our own user in the app's directory;
 * - and their descendants.
 * Other processes matching the pattern (another user's, or in another directory) are judged by the
 * kill scope without the app-directory rule: refused under `app`, killed under `user` (same uid)
 * or `any`. Never: PID 1, the monitor itself and its ancestors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, statSync, fstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { describeFreed } from '../steps/wording.js';
import { runStep } from '../steps/steps.js';
import { runFreePorts } from '../ports/async.js';
import { buildScope } from '../ports/context.js';
import type { FreePortsResult } from '../ports/free-port.js';
import { killJudged } from '../ports/kill.js';
import { judge, type HolderFacts, type ScopeContext } from '../ports/scope.js';
import { isGoneState, isLive, readPm2Marks, withoutPm2Marks } from '../proc/read.js';
import { lineageOf } from '../proc/tree.js';
import { socketsOf } from '../proc/sockets.js';
import { waitUntil } from '../proc/wait.js';
import { writeFileAtomic } from '../fsx/safe-write.js';
import { OUTSIDE_PM2, type RestartStrategy, type ProcessSpec, type StrategyDeps, type StrategyResult } from './types.js';
import { processSpecOf } from './process-spec.js';
import { describeProc, isProcessRunning, normalizeCommand, rowOf, surveyProcesses, type ProcRow, type Survey } from './process-survey.js';
export * from './process-survey.js';

/** After SIGKILL, how long to wait for the process to disappear. */
const KILL_WAIT_MS = 1000;
/** A command that exits within this long after the start is reported as a failed start. */
const STARTUP_WATCH_MS = 100;

// ---------------------------------------------------------------------------------------------
// Stopping

/** A process chosen to stop, with what the scope judges it by (re-judged at each signal). */
interface Victim extends HolderFacts {
  readonly startTicks: number;
  readonly why: string;
  /** The scope it was judged under, asked again at each signal. */
  readonly scope: ScopeContext;
}

export interface StopRecord {
  readonly pid: number;
  readonly command: string;
  readonly uid: number;
  /** How it ended: by SIGTERM, by SIGKILL after the grace, gone before we signalled it, or not at all. */
  readonly outcome: 'SIGTERM' | 'SIGKILL' | 'gone' | 'stuck';
  readonly why: string;
}

export interface StopRefusal {
  readonly pid: number;
  readonly command: string;
  readonly uid: number;
  readonly why: string;
}

export interface StopReport {
  readonly stopped: readonly StopRecord[];
  readonly refused: readonly StopRefusal[];
  /** Processes still alive after SIGKILL (or that we may not signal). */
  readonly stuck: readonly StopRecord[];
}

/** A StrategyResult of the process strategy carries what the stop did. */
export interface ProcessStrategyResult extends StrategyResult {
  readonly stop?: StopReport;
  /** The pid of the started command. */
  readonly pid?: number;
}

function send(v: Victim, sig: 'SIGTERM' | 'SIGKILL'): 'sent' | 'gone' | 'denied' {
  const r = killJudged(v, v.scope, sig);
  return r.outcome === 'sent' ? 'sent' : r.outcome === 'denied' || r.outcome === 'refused' ? 'denied' : 'gone';
}

/**
 * Wait until the victims are gone and have released what they held: a zombie is gone, but one
 * whose other threads are still exiting keeps its fd table (and listening sockets) a moment
 * longer, hidden from /proc/PID/fd; starting the app again before that would meet EADDRINUSE.
 */
async function waitGone(victims: readonly Victim[], limitMs: number, deps: StrategyDeps): Promise<void> {
  const pids = victims.map((v) => v.pid);
  await waitUntil(() => !victims.some(isLive) && socketsOf(pids) !== undefined, { limitMs, now: () => deps.clock.now(), firstMs: 5 });
}

/** What the scope judges a process by: its row, PM2 marks and lineage. */
function factsOf(p: ProcRow): HolderFacts {
  const marks = readPm2Marks(p.pid);
  return { pid: p.pid, uid: p.uid, command: p.command, startTicks: p.startTicks, lineage: lineageOf(p.pid), ...(p.cwd === undefined ? {} : { cwd: p.cwd }), ...(marks === undefined ? {} : { marks }) };
}

/** Decide who is stopped: the app's pids (with descendants) and the strangers the scope allows. */
function chooseVictims(survey: Survey, scope: ScopeContext): { victims: Victim[]; refused: StopRefusal[] } {
  const victims: Victim[] = [];
  const refused: StopRefusal[] = [];
  const seen = new Set<number>();
  // Strangers are judged without the app-directory rule: a pattern match in the app's directory
  // run by another user is not the app's just for being there.
  const strangerScope = scope;
  const withoutCwd = ({ cwd: _cwd, ...rest }: ScopeContext['app']): ScopeContext['app'] => rest;
  const consider = (p: ProcRow, ctx: ScopeContext, reason: string | undefined): void => {
    if (seen.has(p.pid) || isGoneState(p.state)) return;
    seen.add(p.pid);
    const facts = factsOf(p);
    const v = judge(facts, ctx);
    if (v.kill) victims.push({ ...facts, startTicks: p.startTicks, why: reason ?? v.why, scope: ctx });
    else refused.push({ pid: p.pid, command: p.command, uid: p.uid, why: reason === undefined ? v.why : `${reason}; ${v.why}` });
  };
  for (const i of survey.instances) consider(i, scope, i.why);
  for (const pid of [...scope.app.instances.keys()].sort((a, b) => a - b)) {
    if (seen.has(pid)) continue;
    const r = rowOf(pid);
    if (r) consider(r, scope, 'a descendant of the app');
  }
  for (const s of survey.strangers) consider(s, { ...strangerScope, app: withoutCwd(scope.app) }, s.why);
  return { victims, refused };
}

async function stopVictims(victims: readonly Victim[], refused: readonly StopRefusal[], graceMs: number, deps: StrategyDeps): Promise<StopReport> {
  const outcome = new Map<number, StopRecord['outcome']>();
  const denied = new Set<number>();
  for (const v of victims) {
    const r = send(v, 'SIGTERM');
    if (r === 'gone') outcome.set(v.pid, 'gone');
    if (r === 'denied') denied.add(v.pid);
  }
  await waitGone(victims.filter((v) => !denied.has(v.pid)), graceMs, deps);
  const left = victims.filter((v) => !outcome.has(v.pid) && isLive(v));
  for (const v of victims) if (!outcome.has(v.pid) && !left.includes(v)) outcome.set(v.pid, 'SIGTERM');
  for (const v of left) if (!denied.has(v.pid) && send(v, 'SIGKILL') === 'denied') denied.add(v.pid);
  await waitGone(left.filter((v) => !denied.has(v.pid)), KILL_WAIT_MS, deps);
  for (const v of left) outcome.set(v.pid, isLive(v) ? 'stuck' : 'SIGKILL');
  const records = victims.map((v): StopRecord => {
    const o = outcome.get(v.pid) ?? 'gone';
    const why = o === 'stuck' && denied.has(v.pid) ? `${v.why}; not permitted to signal it` : v.why;
    return { pid: v.pid, command: v.command, uid: v.uid, outcome: o, why };
  });
  return { stopped: records.filter((r) => r.outcome !== 'stuck'), refused, stuck: records.filter((r) => r.outcome === 'stuck') };
}

/** One line about a stop. */
export function describeStop(r: StopReport, graceMs: number): string {
  const parts: string[] = [];
  for (const s of [...r.stopped, ...r.stuck]) {
    const p = describeProc(s);
    if (s.outcome === 'SIGTERM') parts.push(`stopped ${p} with SIGTERM`);
    else if (s.outcome === 'SIGKILL') parts.push(`killed ${p} with SIGKILL after ${graceMs} ms`);
    else if (s.outcome === 'gone') parts.push(`${p} was already gone`);
    else parts.push(`could not stop ${p}: ${s.why}`);
  }
  for (const x of r.refused) parts.push(`refused ${describeProc(x)}: ${x.why}`);
  return parts.length > 0 ? parts.join('; ') : 'nothing to stop';
}

// ---------------------------------------------------------------------------------------------
// Starting

/** The argv that starts the command (pure): a shell, so the command may use pipes, `&&`, `exec`. */
export function startArgv(command: string): [string, string[]] {
  return ['/bin/sh', ['-c', command]];
}

function tailOf(file: string, bytes = 600): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const len = Math.min(bytes, size);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean).slice(-3).join(' | ');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The pidfile, written atomically without following a planted link (0644: others may read a pid). */
function writePidfile(path: string, pid: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, `${pid}\n`, 0o644);
}

/** Start the command detached (own session), output appended to the log; resolves with its pid. */
async function startCommand(spec: ProcessSpec, env: NodeJS.ProcessEnv | undefined): Promise<number> {
  let isDir = false;
  try {
    isDir = statSync(spec.cwd ?? process.cwd()).isDirectory();
  } catch {
    // missing
  }
  if (!isDir) throw new Error(`the working directory ${spec.cwd ?? process.cwd()} does not exist`);
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const fd = openSync(spec.logFile, 'a');
  const [file, args] = startArgv(spec.command);
  let child: ChildProcess;
  try {
    // Without our PM2 marks (the monitor may be a PM2 module): the app must not pass for another PM2 app.
    const c = spawn(file, args, { cwd: spec.cwd ?? process.cwd(), detached: true, stdio: ['ignore', fd, fd], env: withoutPm2Marks(env ?? process.env), windowsHide: true });
    child = c;
    await new Promise<void>((resolve, reject) => {
      c.once('spawn', resolve);
      c.once('error', reject);
    });
  } finally {
    closeSync(fd);
  }
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn gave no pid');
  // A command that dies at once (typo, missing file, port taken) is a failed start, said now.
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined>((resolve) => {
    const t = setTimeout(() => {
      child.removeListener('exit', onExit);
      resolve(undefined);
    }, STARTUP_WATCH_MS);
    function onExit(code: number | null, sig: NodeJS.Signals | null): void {
      clearTimeout(t);
      resolve({ code, signal: sig });
    }
    child.once('exit', onExit);
  });
  if (exit) {
    const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
    const tail = tailOf(spec.logFile);
    throw new Error(`pid ${pid} exited within ${STARTUP_WATCH_MS} ms (${how})${tail ? `; log: ${tail}` : ''}`);
  }
  if (spec.pidfile) writePidfile(spec.pidfile, pid);
  return pid;
}

// ---------------------------------------------------------------------------------------------
// The strategy

/** Restart a plain process: find, stop (under the scope), free ports, start. Never throws. */
export async function restartProcess(spec: ProcessSpec, deps: StrategyDeps): Promise<ProcessStrategyResult> {
  const report = deps.reporter;
  if (spec.command.trim().length === 0) {
    report.begin('start')(false, 'no command configured');
    return { ok: false, detail: 'no command configured for the process strategy' };
  }
  const found = await runStep(report, 'find the running instance', async () => surveyProcesses(spec), (s) => [true, describeSurvey(s)]);
  const survey: Survey = found.value ?? { instances: [], strangers: [], notes: [found.detail] };

  // Built before stopping: the instances' descendants are known only while they run.
  // Outside PM2: the app runs as the monitor's uid (the monitor starts it), no pm_id marks are its.
  const scope = buildScope({
    scope: spec.killScope,
    app: { name: spec.appName, pids: survey.instances.map((i) => i.pid), ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }), ...(process.getuid ? { uid: process.getuid() } : {}) },
    ...(deps.killLog ? { killLog: deps.killLog } : {}),
  });
  let stop: StopReport | undefined;
  const parts: string[] = [];
  const chosen = chooseVictims(survey, scope);
  if (chosen.victims.length > 0 || chosen.refused.length > 0) {
    const label = chosen.victims.length > 0 ? `stop ${chosen.victims.map((v) => v.pid).join(',')}` : 'stop (nothing in scope)';
    const stopped = await runStep(report, label, () => stopVictims(chosen.victims, chosen.refused, spec.stopGraceMs, deps), (r) => [r.stuck.length === 0, describeStop(r, spec.stopGraceMs)]);
    stop = stopped.value;
    if (!stopped.ok) return { ok: false, detail: `stop failed: ${stopped.detail}`, ...(stop ? { stop } : {}) };
    parts.push(stopped.detail);
  }

  let ports: FreePortsResult | undefined;
  if (spec.ports.length > 0) {
    const freed = await runStep(
      report,
      `free ports ${spec.ports.join(',')}`,
      () => runFreePorts({ ports: spec.ports, scope, graceMs: spec.killGraceMs, now: () => deps.clock.now() }),
      (r) => [r.free, describeFreed(r)],
    );
    ports = freed.value;
    const extra = { ...(ports ? { ports } : {}), ...(stop ? { stop } : {}) };
    // Starting into a port we could not free would only fail again.
    if (!freed.ok) return { ok: false, detail: `port still held: ${freed.detail}`, ...extra };
    if (ports && (ports.killed.length > 0 || ports.refused.length > 0)) parts.push(freed.detail);
  }

  const started = await runStep(report, `start ${spec.appName}: ${oneLine(spec.command)}`, () => startCommand(spec, deps.env), (pid) => [
    true,
    `pid ${pid} in ${spec.cwd ?? process.cwd()}, output to ${spec.logFile}${spec.pidfile ? `, pid written to ${spec.pidfile}` : ''}`,
  ]);
  const extra = { ...(ports ? { ports } : {}), ...(stop ? { stop } : {}) };
  if (!started.ok) return { ok: false, detail: `start failed: ${started.detail}`, ...extra };
  parts.push(`started pid ${started.value}`);
  return { ok: true, detail: parts.join('; '), pid: started.value, ...extra };
}

function oneLine(command: string): string {
  const c = normalizeCommand(command);
  return c.length > 80 ? `${c.slice(0, 77)}...` : c;
}

/** One line about what the survey found. */
export function describeSurvey(s: Survey): string {
  const parts: string[] = [];
  for (const i of s.instances) parts.push(`${describeProc(i)} via ${i.via}`);
  if (s.instances.length === 0) parts.push('no instance running');
  for (const x of s.strangers) parts.push(`also ${describeProc(x)}: ${x.why}`);
  parts.push(...s.notes);
  return parts.join('; ');
}

/** Apps started from a plain command: up while an instance runs, restarted by stop, free ports, start. */
export function processStrategy(deps: Omit<StrategyDeps, 'reporter'>): RestartStrategy {
  return {
    name: 'process',
    readsTable: false,
    status: (app) => {
      // `auto` without a process: block has nothing to look for: its probes judge it.
      if (!app.process) return { ...OUTSIDE_PM2, state: 'online', detail: `not managed by PM2 (restart_strategy ${app.strategy})` };
      const running = isProcessRunning(processSpecOf(app));
      return { ...OUTSIDE_PM2, state: running ? 'online' : 'errored', detail: running ? 'process running' : 'process not running' };
    },
    restart: async (app, reporter) => {
      if (!app.process) return { ok: false, detail: 'restart_strategy process needs a process: block' };
      return restartProcess(processSpecOf(app), { ...deps, reporter });
    },
  };
}
