/**
 * What the pings and /proc say about the PM2 daemon, as a pure judgement: it answers; it is dead
 * (no daemon process for this PM2_HOME, and its pid file left behind: it was killed, by SIGKILL
 * or the OOM killer, or crashed); it was stopped (no process and no pid file: PM2 removes it on a
 * clean exit, `pm2 kill` or SIGTERM, an operator's decision that is left alone); it is alive but does not answer (hung: never start a
 * second one beside it); or there are several (never act: a person must look). A daemon that
 * does not answer yet, with fewer failed pings than `hung_after`, is not judged: ping again.
 */
import type { GodProcess } from './god.js';

export type DaemonLook =
  | { readonly kind: 'answering' }
  | { readonly kind: 'dead' }
  | { readonly kind: 'stopped'; readonly why: string }
  | { readonly kind: 'hung'; readonly god: GodProcess; readonly why: string }
  | { readonly kind: 'several'; readonly gods: readonly GodProcess[]; readonly why: string }
  | { readonly kind: 'unsure' };

export function judgeDaemon(answered: boolean, failedPings: number, gods: readonly GodProcess[], pidFileLeft: boolean, hungAfter: number, pingTimeoutMs: number): DaemonLook {
  if (answered) return { kind: 'answering' };
  if (gods.length === 0 && !pidFileLeft) {
    return { kind: 'stopped', why: 'it was stopped cleanly (`pm2 kill` or SIGTERM: it removed its pid file), which is left alone; `pm2 resurrect` brings it back' };
  }
  if (gods.length === 0) return { kind: 'dead' };
  if (gods.length > 1) {
    return { kind: 'several', gods, why: `${gods.length} PM2 daemons run for this PM2_HOME (pids ${gods.map((g) => g.pid).join(', ')}) and none answers: left for a person to sort out` };
  }
  const god = gods[0]!;
  // A stopped daemon will not answer until continued: no need to wait for more pings.
  if (god.state === 'stopped') return { kind: 'hung', god, why: `the PM2 daemon (pid ${god.pid}) is stopped (SIGSTOP or a debugger) and does not answer` };
  if (failedPings >= hungAfter) {
    return { kind: 'hung', god, why: `the PM2 daemon (pid ${god.pid}) is alive but did not answer ${failedPings} pings of ${pingTimeoutMs} ms` };
  }
  return { kind: 'unsure' };
}

/** What to do about a dead daemon, given the mode and whether a usable dump exists. Pure. */
export type ResurrectPlan = { readonly act: true } | { readonly act: false; readonly why: string };

export function planResurrect(mode: 'auto' | 'never', dumpUsable: boolean, dumpWhy: string): ResurrectPlan {
  if (mode === 'never') return { act: false, why: 'supervisor.resurrect is never: bring it back with `pm2 resurrect`' };
  if (!dumpUsable) return { act: false, why: `no usable dump to resurrect from: ${dumpWhy}; start the apps and run \`pm2 save\`` };
  return { act: true };
}
