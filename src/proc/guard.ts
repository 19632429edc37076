/**
 * The never-killed list, in one place: PID 1, the PM2 daemon of this PM2_HOME, the process
 * running this code (the monitor, or the app being started when the pre-start hook runs) and its
 * ancestors. Whatever the kill scope says, these are refused.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ancestry } from './tree.js';
import { procAvailable } from './read.js';

export interface GuardInput {
  /** The PM2 daemon's pid, when the caller knows it (else read from PM2_HOME/pm2.pid). */
  readonly daemonPid?: number;
  readonly pm2Home?: string;
  /** What the current process is, for the refusal text. */
  readonly self?: string;
  /** More pids with their reasons (live instances to spare, ...). */
  readonly extra?: Iterable<readonly [number, string]>;
}

/** The PM2 daemon's pid from `$PM2_HOME/pm2.pid`, if any. */
export function daemonPidOf(pm2Home: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(pm2Home, 'pm2.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** pid -> why it is never killed. */
export function neverKilled(input: GuardInput = {}): Map<number, string> {
  const out = new Map<number, string>([[1, 'PID 1 (init)']]);
  const daemon = input.daemonPid ?? (input.pm2Home ? daemonPidOf(input.pm2Home) : undefined);
  if (daemon !== undefined && daemon > 0) out.set(daemon, 'the PM2 daemon');
  const chain = procAvailable ? ancestry(process.pid) : [process.pid, process.ppid];
  chain.forEach((pid, i) => {
    if (!out.has(pid)) out.set(pid, i === 0 ? (input.self ?? 'helpdesk-monitor itself') : 'an ancestor of this process');
  });
  for (const [pid, why] of input.extra ?? []) if (!out.has(pid)) out.set(pid, why);
  return out;
}
