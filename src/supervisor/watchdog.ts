/**
 * The daemon watchdog, for the doors that live outside PM2 (`check`, `run`): look at the daemon
 * without spawning one; if it is dead, bring it back once (under the resurrect lock, after making
 * sure no daemon of this PM2_HOME is alive, from a usable dump); if it is hung, report it, or
 * kill it first when `kill_hung_daemon` says so. Every step has a deadline; nothing here throws.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../clock.js';
import type { SupervisorConfig } from '../config/supervisor.js';
import { LockHeldError } from '../errors.js';
import { acquireLock, type HeldLock, type LockRole } from '../lock/lock.js';
import type { Logger } from '../log/logger.js';
import { killJudged } from '../ports/kill.js';
import { killLogIn } from '../ports/kill-log.js';
import { daemonPidOf, neverKilled } from '../proc/guard.js';
import { procFacts } from '../proc/read.js';
import { chooseDump, restoreDump, type DumpChoice } from './dump.js';
import { findGods, type GodProcess } from './god.js';
import { judgeDaemon, planResurrect } from './judge.js';
import { daemonUser, runResurrect } from './resurrect.js';

export type DaemonOutcome =
  | { readonly kind: 'answering' }
  | { readonly kind: 'resurrected'; readonly dump: DumpChoice; readonly ms: number; readonly killedHung?: GodProcess; readonly story: string }
  /** Another process of ours brought it back while this one waited for the resurrect lock. */
  | { readonly kind: 'resurrected-elsewhere' }
  | { readonly kind: 'hung'; readonly god: GodProcess; readonly why: string }
  /** stoppedCleanly: by `pm2 kill` or SIGTERM (an operator's decision, left alone). */
  | { readonly kind: 'down'; readonly why: string; readonly stoppedCleanly?: boolean };

export interface WatchdogDeps {
  readonly pm2Home: string;
  readonly stateDir: string;
  readonly config: SupervisorConfig;
  readonly logger: Logger;
  /** Ask the daemon, never spawning one; false when nothing answers within the limit. */
  readonly ping: (timeoutMs: number) => Promise<boolean>;
  /** The door, recorded in the resurrect lock. */
  readonly role: LockRole;
}

/**
 * The resurrect lock is one per PM2_HOME, whatever state_dir each config names: in the default
 * state dir of that PM2_HOME when we run as its owner (two configs with their own state dirs
 * still resurrect once), else (root for another user's PM2_HOME: not our folder to create) in
 * our state dir.
 */
export function resurrectLockPath(pm2Home: string, stateDir: string): string {
  let owner: number | undefined;
  try {
    owner = statSync(pm2Home).uid;
  } catch {
    owner = undefined;
  }
  return join(owner !== undefined && owner === process.geteuid?.() ? join(pm2Home, 'helpdesk-monitor') : stateDir, 'resurrect.lock');
}

/** Look at the daemon and do what the config says. Never throws. */
export async function superviseDaemon(deps: WatchdogDeps): Promise<DaemonOutcome> {
  const look = await lookAtDaemon(deps);
  if (look.kind === 'answering') return look;
  if (look.kind === 'several') return { kind: 'down', why: look.why };
  if (look.kind === 'stopped') return { kind: 'down', why: `no PM2 daemon answers in ${deps.pm2Home}: ${look.why}`, stoppedCleanly: true };
  let killedHung: GodProcess | undefined;
  if (look.kind === 'hung') {
    if (!deps.config.killHungDaemon) return { kind: 'hung', god: look.god, why: `${look.why}; not starting another beside it (set supervisor.kill_hung_daemon: true to have it killed and resurrected)` };
    const killed = killHungDaemon(look.god, deps);
    if (killed) return { kind: 'hung', god: look.god, why: `${look.why}; killing it failed: ${killed}` };
    killedHung = look.god;
  }
  return resurrect(deps, killedHung);
}

/** Ping until the daemon answers, is seen dead, or counts as hung. */
async function lookAtDaemon(deps: WatchdogDeps): Promise<ReturnType<typeof judgeDaemon>> {
  const { hungAfter, pingTimeoutMs } = deps.config;
  for (let failed = 0; ; ) {
    if (await deps.ping(pingTimeoutMs)) return { kind: 'answering' };
    failed++;
    const look = judgeDaemon(false, failed, findGods(deps.pm2Home), daemonPidOf(deps.pm2Home) !== undefined, hungAfter, pingTimeoutMs);
    if (look.kind !== 'unsure') return look;
    await sleep(1000);
  }
}

/** SIGKILL the hung daemon through the one judging road, and wait (bounded) until it is gone. */
function killHungDaemon(god: GodProcess, deps: WatchdogDeps): string | undefined {
  const facts = procFacts(god.pid);
  if (!facts || facts.startTicks !== god.startTicks) return undefined; // already gone: the dead case
  const ownerUid = daemonUser(deps.pm2Home).user?.uid ?? facts.uid;
  const r = killJudged({ ...facts, startTicks: god.startTicks }, {
    protectedPids: neverKilled({ self: 'helpdesk-monitor itself' }),
    scope: 'hung-daemon', hungDaemon: { pid: god.pid, pm2Home: deps.pm2Home }, killLog: killLogIn(deps.stateDir, deps.role),
    app: { uid: ownerUid, pmIds: new Set(), instances: new Map() },
  }, 'SIGKILL');
  if (r.outcome === 'sent' || r.outcome === 'gone') {
    deps.logger.warn(`killed the hung PM2 daemon (pid ${god.pid}, ${god.command}) with SIGKILL: supervisor.kill_hung_daemon is true`);
    return undefined;
  }
  return r.why ?? r.outcome;
}

async function resurrect(deps: WatchdogDeps, killedHung: GodProcess | undefined): Promise<DaemonOutcome> {
  const { pm2Home, stateDir, config, logger } = deps;
  const { choice, why } = chooseDump(pm2Home, stateDir);
  const plan = planResurrect(config.resurrect, choice !== undefined, why);
  if (!plan.act) return { kind: 'down', why: `no PM2 daemon answers in ${pm2Home}; ${plan.why}` };
  const lock = await takeResurrectLock(deps);
  if (lock === 'elsewhere') return { kind: 'resurrected-elsewhere' };
  if (typeof lock === 'string') return { kind: 'down', why: lock };
  try {
    // Under the lock, look again: another process may have brought it back just before.
    if (await deps.ping(config.pingTimeoutMs)) return { kind: 'resurrected-elsewhere' };
    const gods = await goneWithin(pm2Home, 3000);
    if (gods.length > 0) return { kind: 'down', why: `a PM2 daemon process for ${pm2Home} is still alive (pid ${gods.map((g) => g.pid).join(', ')}) though none answers: not starting another` };
    const user = daemonUser(pm2Home);
    if (!user.user) return { kind: 'down', why: `cannot resurrect: ${user.why}` };
    // Re-read under the lock: the dump may have changed while we waited.
    const dump = chooseDump(pm2Home, stateDir).choice ?? choice!;
    if (dump.restore) {
      restoreDump(pm2Home, dump.restore);
      logger.warn(`${dump.instead}: resurrecting from the ${dump.source} (${dump.path}, ${plural(dump.apps.length, 'app')}: ${dump.apps.join(', ').slice(0, 200)}), put back as dump.pm2`);
    }
    logger.warn(`no PM2 daemon answers in ${pm2Home}${killedHung ? ' (the hung one was killed)' : ''}: resurrecting ${plural(dump.apps.length, 'app')} from ${dump.source} as ${user.user.name}`);
    const run = await runResurrect(pm2Home, user.user, config.resurrectTimeoutMs);
    const after = findGods(pm2Home);
    if (!run.ok || !(await deps.ping(config.pingTimeoutMs))) {
      const tail = run.output.trim().split('\n').slice(-5).join(' | ');
      return { kind: 'down', why: `pm2 resurrect failed: ${run.why ?? 'no daemon answers after it'}${tail ? ` (PM2 said: ${tail})` : ''}` };
    }
    if (after.length !== 1) logger.error(`after the resurrect ${after.length} PM2 daemon processes run for ${pm2Home} (pids ${after.map((g) => g.pid).join(', ')})`);
    const story = `PM2 daemon ${killedHung ? `was hung (pid ${killedHung.pid}, killed)` : 'was down'}; resurrected from ${dump.source}${dump.instead ? ` (${dump.instead})` : ''} with ${plural(dump.apps.length, 'app')} in ${run.ms} ms`;
    return { kind: 'resurrected', dump, ms: run.ms, story, ...(killedHung ? { killedHung } : {}) };
  } finally {
    lock.release();
  }
}

/**
 * The resurrect lock (the single-instance lock's mechanism, its own file): cron and a systemd
 * timer both installed, or many checks at once, resurrect once. A holder elsewhere is waited for
 * (bounded); if the daemon answers meanwhile, it did the work.
 */
async function takeResurrectLock(deps: WatchdogDeps): Promise<HeldLock | 'elsewhere' | string> {
  const until = performance.now() + deps.config.resurrectTimeoutMs + 5000;
  for (;;) {
    try {
      return acquireLock({ path: resurrectLockPath(deps.pm2Home, deps.stateDir), role: deps.role, heartbeatMs: 2000 });
    } catch (err) {
      if (!(err instanceof LockHeldError)) return `cannot take the resurrect lock: ${(err as Error).message}`;
      if (await deps.ping(deps.config.pingTimeoutMs)) return 'elsewhere';
      if (performance.now() > until) return `another process holds the resurrect lock and no daemon answered within ${deps.config.resurrectTimeoutMs} ms: ${err.message}`;
      await sleep(250);
    }
  }
}

/** Daemons of this home that do not go away within `ms` (a killed one takes a moment to be reaped or become a zombie). */
async function goneWithin(home: string, ms: number): Promise<GodProcess[]> {
  const until = performance.now() + ms;
  for (;;) {
    const gods = findGods(home);
    if (gods.length === 0 || performance.now() > until) return gods;
    await sleep(100);
  }
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
