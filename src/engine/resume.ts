/**
 * Interrupted remedies: a monitor stopped (SIGTERM past its grace, a kill, a crash) between "stop
 * through PM2" and "start" leaves the app stopped, and PM2 never starts what was stopped through
 * it. The engine may even take that stop for an operator's. The remedy journal (state/
 * remedy-journal.ts writes it) records each step before it is taken, and who took it; at the
 * next start the monitor finishes what the journal holds, before its first check:
 * - the app is stopped in PM2 exactly as we left it (same restart count and start time: nobody
 *   started it since) -> start it by pm_id and verify, as the remedy would have;
 * - it is online (PM2 finished a restart it was sent, or someone started it) -> nothing to do;
 * - it was started and stopped again since, or is gone from PM2 or from the config -> an
 *   operator's doing: left as it is, and said so.
 * Every case is one story in the log, under the interrupted remedy's incident_id. The judgement
 * is pure (judgeEntry); resumeRemedies acts on it.
 */
import { sleep } from '../clock.js';
import type { AppConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { ProcessInfo } from '../pm2/adapter.js';
import { freePortsAroundLive, instancesOf } from '../strategies/pm2.js';
import { describeFreed } from '../steps/wording.js';
import type { JournalInstance, JournalNote, JournalStep } from '../strategies/types.js';
import { verdictText, verifyHealthy, type ActDeps } from './verify.js';

/** One app's interrupted remedy, as the journal keeps it. */
export interface JournalEntry {
  readonly app: string;
  readonly incidentId: string;
  readonly step: JournalStep;
  /** The app's instances as PM2 showed them when the remedy began its stop. */
  readonly instances: readonly JournalInstance[];
  /** When the step was recorded (ISO). */
  readonly at: string;
  /** Which monitor wrote it: always us (the door and its pid); an operator writes no journal. */
  readonly by: { readonly monitor: string; readonly pid: number };
}

/** The journal as the engine uses it (state/remedy-journal.ts keeps it on disk). */
export interface RemedyJournal {
  /** The note a remedy's strategy calls before each step, and the clear when it ends. */
  forRemedy(app: string, incidentId: string): { readonly note: JournalNote; clear(): void };
  /** Every entry left by a remedy that did not end. */
  entries(): JournalEntry[];
  clear(app: string): void;
}

export type Judgement =
  | { readonly kind: 'start'; readonly pmIds: readonly number[]; readonly why: string }
  | { readonly kind: 'done'; readonly why: string }
  | { readonly kind: 'leave'; readonly why: string }
  | { readonly kind: 'wait'; readonly why: string };

/** What to do about an entry, from PM2's instances of the app now. Pure. */
export function judgeEntry(entry: JournalEntry, now: readonly ProcessInfo[]): Judgement {
  if (now.length === 0) return { kind: 'leave', why: 'PM2 no longer lists the app (deleted since)' };
  if (now.some((p) => p.status === 'stopping' || p.status === 'launching')) return { kind: 'wait', why: 'PM2 is still stopping or starting it' };
  const stopped = now.filter((p) => p.status === 'stopped');
  if (stopped.length === 0) return { kind: 'done', why: `PM2 shows it ${[...new Set(now.map((p) => p.status))].join(', ')}: nothing left to finish` };
  const ours: number[] = [];
  for (const p of stopped) {
    const was = entry.instances.find((i) => i.pmId === p.pmId);
    if (!was) return { kind: 'leave', why: `instance ${p.pmId} is not one the remedy stopped: left as it is` };
    // A start by anyone gives the instance a new start time (PM2's pm_uptime; a stop keeps it,
    // and PM2 does not count a start of a stopped app in restarts, an autorestart it does): then
    // the app ran again after our stop, and whoever stopped it since was not us.
    if (p.restarts !== was.restarts || p.startedAt !== was.startedAt) {
      return { kind: 'leave', why: `instance ${p.pmId} was started and stopped again since the remedy stopped it (an operator's stop): left stopped` };
    }
    ours.push(p.pmId);
  }
  return { kind: 'start', pmIds: ours, why: 'PM2 shows it stopped as the remedy left it (nobody started it since)' };
}

export interface ResumeDeps extends ActDeps {
  readonly logger: Logger;
  readonly journal: RemedyJournal;
  /** An app an operator paused (control.json): its interrupted remedy is left as it is, like every check. */
  readonly paused?: (app: string) => boolean;
}

/** How long a stop PM2 is still carrying out (kill_timeout) may keep the resume waiting. */
const SETTLE_MS = 30_000;

/**
 * Finish every interrupted remedy the journal holds, each app at once; resolves when all are
 * done (each bounded by the settle wait and the app's verify_timeout). Never throws.
 */
export async function resumeRemedies(apps: readonly AppConfig[], deps: ResumeDeps): Promise<void> {
  let entries: JournalEntry[];
  try {
    entries = deps.journal.entries();
  } catch (err) {
    deps.logger.warn(`cannot read the remedy journal: ${describeError(err)}`);
    return;
  }
  await Promise.all(entries.map((e) => resumeOne(e, apps.find((a) => a.name === e.app), deps)));
}

async function resumeOne(entry: JournalEntry, app: AppConfig | undefined, deps: ResumeDeps): Promise<void> {
  const log = deps.logger.child({ app: entry.app, incident_id: entry.incidentId });
  const story = `a remedy interrupted at step '${entry.step}' (journaled by ${entry.by.monitor} pid ${entry.by.pid} at ${entry.at})`;
  try {
    if (!app) {
      log.warn(`${story}: the app is no longer in the config; left as PM2 shows it`);
      return deps.journal.clear(entry.app);
    }
    if (deps.paused?.(entry.app)) {
      // Kept: finished once the pause ends (at the next start), not against the operator's pause.
      log.warn(`${story}: the app is paused by an operator; left as PM2 shows it (the journal keeps it)`);
      return;
    }
    const until = deps.clock.now() + SETTLE_MS;
    let judged = judgeEntry(entry, instancesOf(app, await deps.pm2.list()));
    while (judged.kind === 'wait' && deps.clock.now() < until) {
      await sleep(200);
      judged = judgeEntry(entry, instancesOf(app, await deps.pm2.list()));
    }
    if (judged.kind === 'wait') {
      // Kept: the next start looks again; the checks meanwhile see what PM2 shows.
      log.warn(`${story}: ${judged.why} after ${SETTLE_MS / 1000} s; the journal keeps it`);
      return;
    }
    if (judged.kind !== 'start') {
      log.log(judged.kind === 'leave' ? 'warn' : 'info', `${story}: ${judged.why}`);
      return deps.journal.clear(entry.app);
    }
    log.warn(`finishing ${story}: ${judged.why}; starting it`, { step: entry.step, resumed: true });
    if (app.ports.length > 0) {
      // The step the remedy would have taken before its start, under the app's kill scope. A
      // port still held is said, and the app started all the same: left stopped, the checks
      // would take it for an operator's stop; started, they see it fail and remedy it.
      const freed = await freePortsAroundLive(app, deps);
      log.log(freed.free ? 'info' : 'warn', `ports ${app.ports.join(',')}: ${describeFreed(freed)}`, { resumed: true });
    }
    await Promise.all(judged.pmIds.map((id) => deps.pm2.act('restart', id)));
    const v = await verifyHealthy(app, deps, app.verifyTimeoutMs);
    if (v.ok) log.info(`finished the interrupted remedy: started by us and healthy in ${Math.round(v.elapsedMs)} ms`, { resumed: true, ok: true });
    else log.error(`finished the interrupted remedy: started by us, but ${verdictText(v)}; the checks take it from here`, { resumed: true, ok: false });
    deps.journal.clear(entry.app);
  } catch (err) {
    log.warn(`${story}: cannot finish it now (${describeError(err)}); the journal keeps it for the next start`);
  }
}
