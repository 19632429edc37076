/**
 * One worker per app: owns the app's timer, counters and state; observes, asks the pure policy,
 * runs the remedy, and tells the engine what happened (events for notifications, changes for the
 * state file). Checks never overlap; a trigger during a check queues exactly one more.
 */
import { randomUUID } from 'node:crypto';
import { settlesWithin, sleep } from '../clock.js';
import type { AppConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { AlarmInbox, heldOutcome, remedyOutcome, withAlarm, type AlarmOutcome, type RaisedAlarm } from './alarm-inbox.js';
import { afterRemedy, closeCircuit, decide, initialState, openCircuit, verdictOf, type AppState, type Observation, type PolicyEvent, type Verdict } from './decide.js';
import { controlEvents, describeControlEvent, requesterText, type ControlEvent, type PauseEnd } from './control-log.js';
import { AppLens, type LensDeps } from './lens.js';
import type { StrategyName } from '../strategies/types.js';
import { logRemedy, tellPolicy } from './describe.js';
import { runRemedy, type RemedyDeps, type RemedyReport } from './remedy.js';
import type { RemedyJournal } from './resume.js';
import type { Incident } from './incident.js';
import { logIncident } from './incident-record.js';
import { restoredNotices } from './restored.js';
import { dependencyWait, type DependencyLook } from './dependencies.js';
import { remedyTrigger } from './trigger.js';
import { remedyEntry, type Control, type RemedyEntry, type UpdateHold, type WorkerEvent, type WorkerView } from './view.js';

export interface WorkerDeps extends RemedyDeps, LensDeps {
  readonly logger: Logger;
  readonly onRemedy?: (report: RemedyReport) => void;
  readonly onEvent?: (event: WorkerEvent) => void;
  /** Every observation (the watch command tells its story from them). */
  readonly onObservation?: (app: string, obs: Observation) => void;
  /** Every finished remedy, told once as one record (the incident log line, metrics, the page). */
  readonly onIncident?: (incident: Incident) => void;
  /** Called after every check; `urgent` after a remedy or a circuit change (write state now). */
  readonly onChange?: (urgent: boolean) => void;
  /** A git update of the app in progress, or halted after a failed rollback (update/hold.ts). */
  readonly updateHold?: (app: string) => UpdateHold | undefined;
  /** Another app as its dependents see it (depends_on); undefined when not configured. */
  readonly dependency?: (name: string) => DependencyLook | undefined;
  /** The app turned healthy (its dependents look again at once). */
  readonly onHealthy?: (app: string) => void;
  /** Where a remedy's PM2 steps are journaled (a shutdown mid-remedy is finished at the next start). */
  readonly journal?: RemedyJournal;
}

/** One look at an app that decides without acting: what `status` and `check --dry-run` print. */
export interface Inspection {
  readonly app: string;
  readonly strategy: StrategyName;
  readonly observation: Observation;
  readonly verdict: Verdict;
}

const HISTORY = 100;
/** How long an aborted remedy may take to tell its incident before the shutdown goes on. */
const ABANDON_WAIT_MS = 1000;

export class AppWorker {
  private state: AppState;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private pending = false;
  private crashes = 0;
  private closed = true;
  /** stop() was called (closed alone also means "not started": the one-pass check). */
  private stopped = false;
  private lastObservation: Observation | undefined;
  private history: RemedyEntry[] = [];
  private lastRemedy: RemedyReport | undefined;
  private control: Control = {};
  private resetSeen = 0;
  /** The pause in force as the log last told it (restored from state.json): changes are told once. */
  private pauseTold: PauseEnd | undefined;
  /** Who reset the app's circuit or backoff: the remedy that reset lets go names them. */
  private resetBy: string | undefined;
  private lastError: string | undefined;
  /** The last check's failure was forgiven by startup_grace: the app is not judged yet. */
  private graced = false;
  private missingLogTold = false;
  /** The update halt whose circuit opening was done (one opening per halt). */
  private haltSeen: string | undefined;
  /** The update in progress as last told. */
  private updatingTold: string | undefined;
  private readonly log: Logger;
  private readonly lens: AppLens;
  /** An alarm raised from outside (the alarm table), waiting for the next check. */
  private readonly alarms = new AlarmInbox();
  /** checkFresh() callers: the next check that starts takes them, and tells them when it ends. */
  private waiters: (() => void)[] = [];
  /** Settles once the check in progress has decided (dependents wait for it: dependencies.ts). */
  private deciding: Promise<void> | undefined;
  /** The dependency remedies wait for, as last told. */
  private waitingFor: string | undefined;
  /** Aborts the remedy in progress (the shutdown's grace ran out). */
  private abort: AbortController | undefined;

  constructor(
    readonly app: AppConfig,
    private readonly deps: WorkerDeps,
    restored?: { state: AppState; history: readonly RemedyEntry[]; resetSeen: number; pause?: PauseEnd; haltSeen?: string },
  ) {
    this.state = restored?.state ?? initialState(deps.clock.now());
    this.history = [...(restored?.history ?? [])].slice(-HISTORY);
    this.resetSeen = restored?.resetSeen ?? 0;
    this.pauseTold = restored?.pause;
    this.haltSeen = restored?.haltSeen;
    this.log = deps.logger.child({ app: app.name });
    this.lens = new AppLens(app, deps, this.log);
  }

  /** Begin periodic checks (the first one right away). */
  start(): void {
    this.closed = false;
    this.schedule(0);
  }

  /**
   * Stop the timer and wait for a check in progress: at most `graceMs` (the shutdown's), after
   * which a remedy is abandoned at its next step and its journal entry left for the next start.
   */
  async stop(graceMs = Infinity): Promise<void> {
    this.closed = true;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.lens.close();
    if (this.running && !(await settlesWithin(this.running, graceMs))) {
      this.abort?.abort();
      // An abandoned remedy returns at once; a check's probes end at their own deadlines.
      await settlesWithin(this.running, ABANDON_WAIT_MS);
    }
    this.alarms.drop('the monitor stopped before checking the app');
    for (const done of this.waiters.splice(0)) done();
  }

  /** Settle a waiting alarm as not looked at. */
  dropAlarm(why: string): void {
    this.alarms.drop(why);
  }

  /**
   * An alarm from outside: the next check (now, or after the one in progress) judges it with the
   * app's observation; resolves with what became of it. Without started timers (`check`), the
   * next checkUntilSettled() takes it.
   */
  raiseAlarm(alarm: RaisedAlarm): Promise<AlarmOutcome> {
    // A stopped worker checks no more: the alarm is told so now, not left waiting for ever.
    if (this.stopped) return Promise.resolve({ result: 'unobserved', detail: 'the monitor is stopping' });
    const outcome = this.alarms.put(alarm);
    this.trigger();
    return outcome;
  }

  /** PM2 reported an unexpected exit: count it and check at once. */
  noteCrash(): void {
    if (this.state.phase === 'remedying') return; // our own stop/start
    this.crashes++;
    this.lens.crashed(() => this.trigger());
    this.trigger();
  }

  /** Check as soon as possible (coalesced with a check in progress). */
  trigger(): void {
    if (this.closed) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.schedule(0);
  }

  /**
   * Check as soon as possible and resolve once a check that began after this call has ended (a
   * check in progress saw the app before the call: the one queued behind it counts). Resolves at
   * once when the worker runs no timers (stopped, or the one-pass check).
   */
  checkFresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.trigger();
    });
  }

  /**
   * New operator input: each change since what the worker had is logged once, with who asked;
   * a reset newer than the last one seen closes the circuit at once.
   */
  applyControl(control: Control): void {
    this.control = control;
    const reset = this.tellControl();
    if (reset) {
      const { state, events } = closeCircuit(this.state, this.deps.clock.now(), 'reset by an operator');
      // Only a reset that lifted something (an open circuit, a backoff) lets a remedy go.
      if (state !== this.state) this.resetBy = reset.by ? requesterText(reset.by) : 'an operator';
      this.setState({ ...state, consecutiveFailures: 0 }, 'reset by an operator');
      this.emitPolicy(events);
      this.deps.onChange?.(true);
      this.trigger();
    }
  }

  /**
   * Log what the operator's control changed since the worker last told it (a pause that
   * started, changed, was resumed or ran out; a new reset) and remember it; returns a new reset.
   */
  private tellControl(): Extract<ControlEvent, { kind: 'reset' }> | undefined {
    const wallNow = Date.now();
    const told = { ...(this.pauseTold === undefined ? {} : { pause: this.pauseTold }), resetSeen: this.resetSeen };
    const { events, memory } = controlEvents(told, this.control, wallNow);
    this.pauseTold = memory.pause;
    this.resetSeen = memory.resetSeen;
    for (const e of events) {
      const line = describeControlEvent(e, wallNow);
      this.log.log(line.level, line.message);
    }
    return events.find((e) => e.kind === 'reset');
  }

  /**
   * Say what the monitor starts with that will hold remedies back (an open circuit, a backoff
   * restored from state.json, a pause from control.json), each with the command that ends it.
   */
  tellRestored(configSource?: string): void {
    const notices = restoredNotices({
      app: this.app, state: this.state, control: this.control, monoNow: this.deps.clock.now(), wallNow: Date.now(),
      ...(configSource ? { configSource } : {}),
    });
    for (const n of notices) this.log.warn(`restored state: ${n}`);
  }

  /**
   * Check now, and while the app is failing below its threshold (or not yet judged: a failure
   * inside its startup grace, whatever phase state.json restored), again at its interval, until
   * it is healthy, remedied or given up on. This is the one-pass `check`.
   */
  async checkUntilSettled(): Promise<WorkerView> {
    if (this.running) await this.running;
    const { intervalMs, failureThreshold } = this.app.health;
    const deadline = this.deps.clock.now() + this.app.startupGraceMs + (failureThreshold + 1) * intervalMs;
    await this.runCheck(0);
    const unsettled = (): boolean => this.graced || this.state.phase === 'failing' || this.state.phase === 'unknown';
    while (unsettled() && this.deps.clock.now() < deadline) {
      await sleep(intervalMs);
      await this.runCheck(0);
    }
    return this.view();
  }

  /**
   * Run every probe and rule the app has once and judge the result as a check would, without
   * acting and without changing the worker's state (the rules start afresh, as for a new monitor).
   */
  async inspect(maxListAgeMs = 0): Promise<Inspection> {
    const { observation, strategy } = await this.lens.look({ maxListAgeMs, crashes: 0, paused: this.paused(), leftStopped: this.state.leftStopped, freshRules: true });
    return { app: this.app.name, strategy: strategy.name, observation, verdict: verdictOf(this.state, observation, this.app) };
  }

  view(): WorkerView {
    const strategy = this.lens.strategyName();
    return {
      app: this.app.name, state: this.state, history: this.history, control: this.control, resetSeen: this.resetSeen,
      ...(this.haltSeen ? { haltSeen: this.haltSeen } : {}),
      ...(this.lastObservation ? { lastObservation: this.lastObservation } : {}),
      ...(this.lastRemedy ? { lastRemedy: this.lastRemedy } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.waitingFor ? { waitingFor: this.waitingFor } : {}),
      ...(strategy ? { strategy } : {}),
    };
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runCheck(Infinity).then(() => {
        const again = this.pending;
        this.pending = false;
        this.schedule(again ? 0 : this.nextDelay());
      });
    }, ms);
  }

  /**
   * Fixed rate on a shared beat: checks start on multiples of the interval, so a slow probe does
   * not stretch the period, checks never overlap, and every app with the same interval wakes the
   * monitor at the same instant (one timer pass for all of them, not one per app). While PM2 is
   * unreachable, retry less often instead of hammering it.
   */
  private nextDelay(): number {
    const interval = this.app.health.intervalMs;
    if (this.lastError) return Math.min(30_000, interval * 4);
    const now = this.deps.clock.now();
    // The next beat at least a little ahead: a timer may fire a millisecond early, and a check
    // ending just before a beat must not run again at once (a doubled tick).
    const guard = Math.min(100, interval / 10);
    return Math.ceil((now + guard) / interval) * interval - now;
  }

  /** One check; `maxListAgeMs` 0 when no bus keeps the table fresh (the one-pass check). */
  private runCheck(maxListAgeMs: number): Promise<void> {
    const waiting = this.waiters.splice(0);
    let decided = (): void => undefined;
    this.deciding = new Promise((resolve) => (decided = resolve));
    const run = this.check(maxListAgeMs, decided).finally(() => {
      decided();
      this.deciding = undefined;
      this.running = undefined;
      for (const done of waiting) done();
    });
    this.running = run;
    return run;
  }

  /** Resolves once the check in progress (if any) has decided what to do. */
  decided(): Promise<void> {
    return this.deciding ?? Promise.resolve();
  }

  private async check(maxListAgeMs: number, decided: () => void): Promise<void> {
    let urgent = false;
    const raised = this.alarms.take();
    try {
      urgent = await this.checkInner(maxListAgeMs, raised, decided);
    } catch (err) {
      this.log.error(`check failed unexpectedly: ${describeError(err)}`);
      raised?.settle({ result: 'unobserved', detail: `the check failed: ${describeError(err)}` });
    } finally {
      this.deps.onChange?.(urgent);
    }
  }

  private paused(): boolean {
    const until = this.control.pausedUntil;
    return until === 'indefinite' || (until !== undefined && until > Date.now());
  }

  /** One check; true when something happened that should be persisted at once. */
  private async checkInner(maxListAgeMs: number, raised: ReturnType<AlarmInbox['take']>, decided: () => void): Promise<boolean> {
    let obs: Observation;
    const crashes = this.crashes;
    this.crashes = 0;
    this.tellControl(); // a pause that ran out since the last check
    try {
      obs = (await this.lens.look({ maxListAgeMs, crashes, paused: this.paused(), leftStopped: this.state.leftStopped })).observation;
      if (raised) obs = withAlarm(obs, raised.alarm);
      obs = this.seeUpdate(obs);
      this.deps.onObservation?.(this.app.name, obs);
      if (this.lastError) this.log.info('PM2 reachable again', { after: this.lastError });
      this.lastError = undefined;
    } catch (err) {
      this.crashes += crashes;
      const msg = describeError(err);
      if (msg !== this.lastError) this.log.warn(`cannot observe the app: ${msg}; will retry with backoff`);
      this.lastError = msg;
      raised?.settle({ result: 'unobserved', detail: `cannot observe the app: ${msg}` });
      return false;
    }
    this.lastObservation = obs;
    this.tellNotices(obs);
    const missing = obs.others?.find((o) => o.kind === 'log' && o.info?.['missing']);
    if (missing && !this.missingLogTold) this.log.warn(`${missing.detail}: the log rule waits for it`);
    this.missingLogTold = missing !== undefined;
    const prev = this.state;
    let d = decide(prev, obs, this.app);
    if (d.action === 'remedy' && obs.crashes === 0) {
      const confirmed = await this.lens.confirm(obs);
      if (confirmed !== obs) {
        this.log.info(`not remedied: PM2 now says ${confirmed.pm2.state} (${confirmed.pm2.detail})`);
        obs = confirmed;
        this.lastObservation = obs;
        d = decide(prev, obs, this.app);
      }
    }
    if (d.action === 'remedy' && this.app.dependsOn && this.deps.dependency) {
      const waitingFor = await dependencyWait(this.app.dependsOn, this.deps.dependency);
      if (waitingFor) {
        obs = { ...obs, waitingFor };
        this.lastObservation = obs;
        d = decide(prev, obs, this.app);
      }
    }
    this.tellWait(obs.waitingFor);
    const resetBy = this.resetBy;
    if (d.action === 'remedy' || d.state.phase === 'healthy') this.resetBy = undefined;
    this.graced = d.action === 'none' && d.graced === true;
    if (d.action === 'none') {
      this.setState(d.state);
      decided();
      this.emitPolicy(d.events);
      if (d.note) this.log.debug(d.note);
      if (raised) {
        const held = heldOutcome(d);
        this.log.debug(`${raised.alarm.detail}: not remedied now: ${held.detail}`);
        raised.settle(held);
      }
      return d.events.length > 0;
    }
    if (this.stopped) {
      // The monitor is stopping (a shutdown, or a reload replacing this worker): no remedy starts
      // now; the next monitor (or the new worker) checks again at once.
      this.log.info(`not remedied: the monitor is stopping (${d.reason})`);
      raised?.settle({ result: 'unobserved', detail: 'the monitor is stopping' });
      return false;
    }
    // Every line of a remedy, from the decision to its incident record, carries its incident_id.
    const incidentId = randomUUID();
    const log = this.log.child({ incident_id: incidentId });
    this.setState(d.state, d.reason, log);
    decided();
    this.emitPolicy(d.events, log);
    const trigger = remedyTrigger({ obs, prev, failures: d.state.consecutiveFailures, threshold: this.app.health.failureThreshold, ...(resetBy ? { resetBy } : {}) });
    const startedAt = new Date().toISOString();
    const told: WorkerEvent['type'][] = [];
    const tell = (e: WorkerEvent): void => {
      told.push(e.type);
      this.deps.onEvent?.(e);
    };
    log.warn(`unhealthy: ${d.reason}; starting ${d.trial ? 'the half-open trial ' : ''}remedy (trigger: ${trigger.text})`, { hung: d.hung, strategy: this.app.strategy, trigger: trigger.kind });
    tell({ type: 'remedy_started', app: this.app.name, reason: d.reason });
    const journal = this.deps.journal?.forRemedy(this.app.name, incidentId);
    const abort = (this.abort = new AbortController());
    const report = await runRemedy(this.app, d.reason, d.hung, await this.lens.strategy(), this.deps, { signal: abort.signal, ...(journal ? { journal: journal.note } : {}) });
    this.abort = undefined;
    if (report.abandoned) log.warn('remedy abandoned: the monitor is shutting down; its journal entry stays, and the next start finishes it');
    else journal?.clear();
    // A restarted app gets a fresh log timeout and memory count.
    this.lens.restarted(this.deps.clock.now());
    this.crashes = 0;
    const now = this.deps.clock.now();
    this.lastRemedy = report;
    this.history = [...this.history, remedyEntry(report, new Date().toISOString())].slice(-HISTORY);
    logRemedy(log, report);
    // Abandoned at shutdown is neither a success nor a failure (no backoff, no circuit count):
    // the state stays 'remedying', which the next start reads as unhealthy, and the journal finishes it.
    const after = report.abandoned ? { state: this.state, events: [] } : afterRemedy(this.state, report.ok, now, this.app, report.failure ?? d.reason, Math.random());
    this.setState(after.state, undefined, log);
    const killed = report.ports?.killed.map((k) => k.pid) ?? [];
    tell({
      type: report.ok ? 'remedy_succeeded' : report.skipped ? 'remedy_skipped' : 'remedy_failed',
      app: this.app.name, reason: d.reason, durationMs: report.totalMs, killed,
      ...(report.failure ? { detail: report.failure } : {}),
    });
    tellPolicy(after.events, this.app, log, tell);
    this.deps.onRemedy?.(report);
    const incident: Incident = {
      id: incidentId, app: this.app.name, startedAt, trigger, reason: d.reason, trial: d.trial, hung: d.hung, observation: obs, report,
      circuitAfter: after.state.circuit, told,
    };
    logIncident(log, incident);
    this.deps.onIncident?.(incident);
    const outcome = remedyOutcome(report);
    raised?.settle(outcome);
    // An alarm raised while this remedy ran is answered by it: a second restart right after the
    // first would be one incident remedied twice.
    this.alarms.take()?.settle({ ...outcome, detail: `answered by the remedy that was running: ${outcome.detail}` });
    return true;
  }

  /**
   * An update in progress holds remedies back (its reloads are not failures; crashes it causes
   * are not counted); a halted update opens the circuit, once per halt.
   */
  private seeUpdate(obs: Observation): Observation {
    const hold = this.deps.updateHold?.(this.app.name);
    const updating = hold?.kind === 'updating' ? hold.detail : undefined;
    if (updating !== this.updatingTold) this.log.info(updating ? `update in progress (${updating}): remedies wait` : 'update finished: checks count again');
    this.updatingTold = updating;
    if (hold?.kind === 'halted' && hold.detail !== this.haltSeen) {
      this.haltSeen = hold.detail;
      const opened = openCircuit(this.state, this.deps.clock.now(), hold.detail);
      this.setState(opened.state);
      this.emitPolicy(opened.events);
      this.deps.onChange?.(true); // the halt seen goes to state.json now
    }
    return updating ? { ...obs, updating, crashes: 0 } : obs;
  }

  /** A rule that notifies instead of remedying (log_match with action notify) fired: log and tell it. */
  private tellNotices(obs: Observation): void {
    for (const o of obs.others ?? []) {
      if (o.notice === undefined) continue;
      this.log.warn(o.notice, { rule: o.kind });
      this.deps.onEvent?.({ type: 'log_matched', app: this.app.name, reason: o.notice });
    }
  }

  /** Say once when remedies start and stop waiting for a dependency. */
  private tellWait(waitingFor: string | undefined): void {
    if (waitingFor === this.waitingFor) return;
    if (waitingFor) this.log.warn(`remedy held: depends on ${waitingFor}; failures still count, the remedy waits until it is healthy`);
    else if (this.waitingFor) this.log.info(`dependency wait over (was: ${this.waitingFor})`);
    this.waitingFor = waitingFor;
  }

  private emitPolicy(events: readonly PolicyEvent[], log: Logger = this.log): void {
    tellPolicy(events, this.app, log, this.deps.onEvent);
  }

  private setState(next: AppState, why?: string, log: Logger = this.log): void {
    const prev = this.state;
    this.state = next;
    if (prev.phase !== next.phase && next.phase === 'healthy') this.deps.onHealthy?.(this.app.name);
    if (prev.phase !== next.phase) {
      const level = next.phase === 'unhealthy' ? 'error' : next.phase === 'failing' ? 'warn' : 'info';
      log.log(level, `${prev.phase} -> ${next.phase}${why ?? next.lastReason ? `: ${why ?? next.lastReason}` : ''}`);
    } else if (next.phase === 'failing' && next.consecutiveFailures !== prev.consecutiveFailures) {
      log.warn(`check failed: ${next.lastReason}`);
    }
  }
}
