/**
 * Reading one process from Linux /proc, synchronously (the preload hook cannot await): stat,
 * status, cmdline, cwd and the PM2 marks in its environment. The one definition of a live
 * process lives here: it exists, it is the same process (start time), and it is not a zombie.
 */
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';

export const procAvailable = ((): boolean => {
  try {
    return process.platform === 'linux' && statSync('/proc/net/tcp').isFile();
  } catch {
    return false;
  }
})();

/** The fields of /proc/<pid>/stat we use. */
export interface ProcStat {
  readonly ppid: number;
  readonly pgrp: number;
  /** R, S, D, T, Z, X, ... */
  readonly state: string;
  /** The kernel's PF_* flags (PF_EXITING = 0x4). */
  readonly flags: number;
  readonly threads: number;
  /** Start time in clock ticks since boot: tells a reused pid from the original. */
  readonly startTicks: number;
  /** CPU time used so far, user + system, in clock ticks (USER_HZ). */
  readonly cpuTicks: number;
}

/** /proc/<pid>/stat parsed, or undefined when the process is gone. */
export function readStat(pid: number): ProcStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    state: f[0] ?? '?', ppid: Number(f[1]), pgrp: Number(f[2]), flags: Number(f[6]),
    threads: Number(f[17]), startTicks: Number(f[19]), cpuTicks: Number(f[11]) + Number(f[12]),
  };
}

/** A zombie (or a dead entry) holds nothing and can not be stopped again: it is gone. */
export function isGoneState(state: string): boolean {
  return state === 'Z' || state === 'X' || state === 'x';
}

/** A process identified by pid and start time (a pid alone may be reused). */
export interface ProcIdentity {
  readonly pid: number;
  readonly startTicks: number;
}

/** Is this very process (not a reuse of its pid) still alive? A zombie is gone. */
export function isLive(target: ProcIdentity): boolean {
  const s = readStat(target.pid);
  return s !== undefined && s.startTicks === target.startTicks && !isGoneState(s.state);
}

export interface ProcFacts extends ProcIdentity {
  readonly ppid: number;
  readonly uid: number;
  /** Command line joined with spaces, one line, bounded ('' for kernel threads or when unreadable). */
  readonly command: string;
  readonly cwd?: string;
  readonly state: string;
}

/** Facts about one process, or undefined when it is gone. */
export function procFacts(pid: number): ProcFacts | undefined {
  const stat = readStat(pid);
  if (!stat) return undefined;
  let uid: number;
  try {
    uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? -1);
  } catch {
    return undefined;
  }
  const cwd = readCwd(pid);
  return { pid, ppid: stat.ppid, uid, command: readCommand(pid) ?? '', ...(cwd === undefined ? {} : { cwd }), startTicks: stat.startTicks, state: stat.state };
}

/** The command line as one bounded line: it goes into logs and tables. */
export function readCommand(pid: number, max = 200): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').replace(/\s+/g, ' ').slice(0, max);
  } catch {
    return undefined;
  }
}

/** The full command line (arguments joined by spaces), unbounded: for pattern matching. */
export function readFullCommand(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0).join(' ');
  } catch {
    return undefined;
  }
}

/** The working directory, unless unreadable (another user's process without privileges). */
export function readCwd(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes (0 when gone). */
export function readRssBytes(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Every pid in /proc (processes, not threads). */
export function listPids(): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    const pid = Number(e);
    if (Number.isInteger(pid) && pid > 0) out.push(pid);
  }
  return out;
}

/**
 * The PM2 marks in a process's environment: PM2 puts `pm_id`, `name` and `PM2_HOME` in every
 * app's environment and children inherit them (PM2.md section 12). Readable for our own uid or
 * as root; undefined when unreadable, {} when it carries none.
 */
export interface Pm2Marks {
  readonly pmId?: number;
  readonly name?: string;
  readonly pm2Home?: string;
}

export function readPm2Marks(pid: number): Pm2Marks | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return undefined;
  }
  return parsePm2Marks(raw);
}

/** The marks in a NUL-separated environment block (pure). */
export function parsePm2Marks(raw: string): Pm2Marks {
  let pmId: number | undefined;
  let name: string | undefined;
  let pm2Home: string | undefined;
  for (const entry of raw.split('\0')) {
    if (entry.startsWith('pm_id=')) {
      const v = entry.slice(6);
      if (/^\d{1,9}$/.test(v)) pmId = Number(v);
    } else if (entry.startsWith('name=')) name = entry.slice(5);
    else if (entry.startsWith('PM2_HOME=')) pm2Home = entry.slice(9);
  }
  return { ...(pmId === undefined ? {} : { pmId }), ...(name === undefined ? {} : { name }), ...(pm2Home === undefined ? {} : { pm2Home }) };
}

/** The PM2 marks removed from an environment: for commands we spawn, so they carry no app's identity. */
export function withoutPm2Marks(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of ['pm_id', 'name', 'unique_id', 'NODE_APP_INSTANCE', 'pm_exec_path', 'pm_cwd', 'pm_uptime', 'pm_pid_path', 'pm_out_log_path', 'pm_err_log_path']) delete out[k];
  return out;
}
