/**
 * Which processes are the app of a `process` strategy (see process.ts): its pidfile's pid when it
 * still looks like the app, processes whose command line holds the pattern, run by our user in the
 * app's directory, and their descendants; other matches are strangers, judged by the scope.
 */
import { readFileSync } from 'node:fs';
import { isGoneState, listPids, procAvailable, procFacts, readFullCommand } from '../proc/read.js';
import { neverKilled } from '../proc/guard.js';
import { pm2Home } from '../paths.js';
import { printable } from '../text/printable.js';
import type { ProcessSpec } from './types.js';

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

export function rowOf(pid: number, command?: string): ProcRow | undefined {
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
