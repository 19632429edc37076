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
import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync, fstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { describeFreed } from '../steps/wording.js';
import { runStep } from '../steps/steps.js';
import { runFreePorts } from '../ports/async.js';
import { buildScope } from '../ports/context.js';
import type { FreePortsResult } from '../ports/free-port.js';
import { killJudged } from '../ports/kill.js';
import { judge, type HolderFacts, type ScopeContext } from '../ports/scope.js';
import { neverKilled } from '../proc/guard.js';
import { isGoneState, isLive, listPids, procAvailable, procFacts, readFullCommand, readPm2Marks, withoutPm2Marks } from '../proc/read.js';
import { lineageOf } from '../proc/tree.js';
import { socketsOf } from '../proc/sockets.js';
import { waitUntil } from '../proc/wait.js';
import { pm2Home } from '../paths.js';
import { writeFileAtomic } from '../fsx/safe-write.js';
import { printable } from '../text/printable.js';
import type { ProcessSpec, StrategyDeps, StrategyResult } from './types.js';

/** After SIGKILL, how long to wait for the process to disappear. */
const KILL_WAIT_MS = 1000;
/** A command that exits within this long after the start is reported as a failed start. */
const STARTUP_WATCH_MS = 100;

/** What we know of a process, with its full command line (arguments joined by spaces). */
export interface ProcRow {
  readonly pid: number;
  readonly uid: number;
  readonly command: string;
  readonly cwd?: string;
  readonly state: string;
  readonly startTicks: number;
}

/** A running instance of the app. */
export interface Instance extends ProcRow {
  readonly via: 'pidfile' | 'pattern';
  readonly why: string;
}

/** A process that matches the pattern but is not known to be the app. */
export interface Stranger extends ProcRow {
  readonly why: string;
}

export interface Survey {
  readonly instances: readonly Instance[];
  readonly strangers: readonly Stranger[];
  /** Pidfile problems, pids left alone and why. */
  readonly notes: readonly string[];
}

export interface PidfileReading {
  readonly path: string;
  readonly pid?: number;
  /** Missing, unreadable or not a pid. */
  readonly problem?: string;
}

// ---------------------------------------------------------------------------------------------
// Pure parts

/** The pid in a pidfile's text (the first word, a positive integer), or undefined. */
export function parsePid(text: string): number | undefined {
  const first = text.trim().split(/\s+/)[0] ?? '';
  if (!/^\d{1,10}$/.test(first)) return undefined;
  const pid = Number(first);
  return pid > 0 && pid <= 4_194_304 ? pid : undefined;
}

/** A /proc cmdline (NUL-separated arguments) as one line. */
export function cmdlineText(raw: string): string {
  return raw.split('\0').filter((a) => a.length > 0).join(' ');
}

/** Whitespace collapsed: how command lines are compared. */
export function normalizeCommand(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** True when a usable pattern (not blank) occurs in the command line. */
export function matchesPattern(command: string, pattern: string | undefined): boolean {
  if (pattern === undefined || pattern.trim().length === 0) return false;
  return command.includes(pattern);
}

export { isGoneState } from '../proc/read.js';

/**
 * Why a process looks like the app started by `spec`, or undefined when it does not (pure). Used
 * on the pidfile's pid, which may have been reused by an unrelated process since it was written.
 */
export function whyTheApp(row: Pick<ProcRow, 'command' | 'cwd'>, spec: Pick<ProcessSpec, 'command' | 'cwd' | 'pattern'>): string | undefined {
  if (matchesPattern(row.command, spec.pattern)) return `its command line contains "${spec.pattern}"`;
  const cmd = normalizeCommand(spec.command);
  // `/bin/sh -c COMMAND` as we started it (the shell did not exec)
  if (cmd.length > 0 && normalizeCommand(row.command).includes(cmd)) return 'it runs the configured command';
  // the shell exec'd the command: its argv no longer shows the quoting, but its directory is the app's
  if (spec.cwd !== undefined && spec.cwd !== '/' && row.cwd === spec.cwd) return `it runs in the app's directory ${spec.cwd}`;
  return undefined;
}

/** One line naming a process for logs. */
export function describeProc(p: Pick<ProcRow, 'pid' | 'command' | 'uid'> & { readonly cwd?: string }): string {
  // Command lines and directories come from /proc: anyone can put terminal escapes in them.
  return `pid ${p.pid} (${printable(p.command, 120) || '?'}, uid ${p.uid}${p.cwd === undefined ? '' : `, cwd ${printable(p.cwd)}`})`;
}

/**
 * Sort the processes we looked at into the app's instances, strangers matching the pattern, and
 * notes (pure). `rows` hold the pidfile's pid (if alive) and every process whose command line
 * contains the pattern; `excluded` are never considered (PID 1, the monitor and its ancestors).
 */
export function classifyProcesses(
  input: { readonly pidfile?: PidfileReading; readonly rows: readonly ProcRow[]; readonly uid: number },
  spec: Pick<ProcessSpec, 'command' | 'cwd' | 'pattern'>,
  excluded: ReadonlyMap<number, string>,
): Survey {
  const instances: Instance[] = [];
  const strangers: Stranger[] = [];
  const notes: string[] = [];
  const decided = new Set<number>();
  const pf = input.pidfile;
  if (pf?.problem !== undefined) notes.push(pf.problem);
  if (pf?.pid !== undefined) {
    const row = input.rows.find((r) => r.pid === pf.pid);
    const guarded = excluded.get(pf.pid);
    decided.add(pf.pid);
    if (guarded !== undefined) notes.push(`pidfile ${pf.path} names pid ${pf.pid}, which is ${guarded}: left alone`);
    else if (row === undefined || isGoneState(row.state)) notes.push(`pidfile ${pf.path} names pid ${pf.pid}, which is not running`);
    else {
      const why = whyTheApp(row, spec);
      if (why !== undefined) instances.push({ ...row, via: 'pidfile', why: `named by the pidfile and ${why}` });
      else notes.push(`pidfile ${pf.path} names ${describeProc(row)}, which is not the app any more (the pid was reused): left alone`);
    }
  }
  if (spec.pattern !== undefined && spec.pattern.trim().length > 0) {
    for (const row of input.rows) {
      if (decided.has(row.pid) || excluded.has(row.pid) || isGoneState(row.state)) continue;
      if (!matchesPattern(row.command, spec.pattern)) continue;
      decided.add(row.pid);
      const inDir = spec.cwd !== undefined && spec.cwd !== '/' && row.cwd === spec.cwd;
      const mine = row.uid === input.uid;
      if (inDir && mine) {
        instances.push({ ...row, via: 'pattern', why: `its command line contains "${spec.pattern}" and it runs in the app's directory` });
      } else {
        const where = row.cwd === undefined ? 'an unreadable directory' : row.cwd;
        const why = !mine ? `matches "${spec.pattern}" but is run by uid ${row.uid}, not ours (${input.uid})` : `matches "${spec.pattern}" but runs in ${where}, ${spec.cwd === undefined ? 'and the app has no known directory' : `not the app's directory ${spec.cwd}`}`;
        strangers.push({ ...row, why });
      }
    }
  }
  return { instances, strangers, notes };
}

// ---------------------------------------------------------------------------------------------
// Finding the running instance (/proc)

/** The never-killed list (PID 1, the PM2 daemon, the monitor and its ancestors): never an instance. */
function excludedPids(): Map<number, string> {
  return neverKilled({ pm2Home: pm2Home() });
}

function readPidfile(path: string): PidfileReading {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { path, problem: code === 'ENOENT' ? `no pidfile at ${path}` : `cannot read pidfile ${path}: ${(err as Error).message}` };
  }
  const pid = parsePid(text);
  return pid === undefined ? { path, problem: `pidfile ${path} does not hold a pid (${JSON.stringify(text.slice(0, 40))})` } : { path, pid };
}

function rowOf(pid: number, command?: string): ProcRow | undefined {
  const f = procFacts(pid);
  if (!f) return undefined;
  const full = command ?? readFullCommand(pid) ?? f.command;
  return { pid, uid: f.uid, command: full, ...(f.cwd === undefined ? {} : { cwd: f.cwd }), state: f.state, startTicks: f.startTicks };
}

/** Look at the machine: the pidfile, and every process whose command line contains the pattern. */
export function surveyProcesses(spec: Pick<ProcessSpec, 'command' | 'cwd' | 'pattern' | 'pidfile'>): Survey {
  const excluded = excludedPids();
  const uid = process.getuid?.() ?? -1;
  if (!procAvailable) {
    return { instances: [], strangers: [], notes: ['no /proc on this system: the running instance cannot be identified (the process strategy needs Linux)'] };
  }
  const pidfile = spec.pidfile ? readPidfile(spec.pidfile) : undefined;
  const rows: ProcRow[] = [];
  if (pidfile?.pid !== undefined) {
    const r = rowOf(pidfile.pid);
    if (r) rows.push(r);
  }
  if (spec.pattern !== undefined && spec.pattern.trim().length > 0) {
    for (const pid of listPids()) {
      if (excluded.has(pid) || pid === pidfile?.pid) continue;
      const cmd = readFullCommand(pid);
      if (cmd === undefined || !matchesPattern(cmd, spec.pattern)) continue;
      const r = rowOf(pid, cmd);
      if (r) rows.push(r);
    }
  }
  return classifyProcesses({ ...(pidfile ? { pidfile } : {}), rows, uid }, spec, excluded);
}

/** Pids of the app's running instances (pidfile and/or pattern); the engine's "status". */
export function findProcessInstances(spec: Pick<ProcessSpec, 'command' | 'cwd' | 'pattern' | 'pidfile'>): number[] {
  return surveyProcesses(spec).instances.map((i) => i.pid);
}

/** True while at least one instance of the app runs. */
export function isProcessRunning(spec: Pick<ProcessSpec, 'command' | 'cwd' | 'pattern' | 'pidfile'>): boolean {
  return findProcessInstances(spec).length > 0;
}

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
