/**
 * The alarm table trigger: one non-overlapping loop that reads the rows in alarm, asks the engine
 * to judge each app concerned (an alarm is one more observation: pause, backoff, circuit and one
 * remedy per app apply), records what was handled, and writes back (clear, note) as configured.
 * The database's own troubles are the source's (outage.ts): logged once, retried with backoff,
 * and never in the way of the probes. Warnings about rows we cannot act on are given once per id.
 */
import type { Clock } from '../clock.js';
import type { AlarmsConfig } from '../config/alarms.js';
import type { AlarmOutcome, RaisedAlarm } from '../engine/alarm-inbox.js';
import { AlarmSourceError, describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { initialHealth, pollFailed, pollSucceeded, type Fault, type SourceHealth } from './outage.js';
import { incidentId, planContext, planPoll, type AlarmRow, type HandledRecord, type PollPlan, type Target } from './plan.js';
import { alarmDetail, noteText, noteWorthy, ongoingIncident, recordOf } from './record.js';
import { openAlarmSource, type AlarmSource } from './source.js';
import { MAX_ROWS, sourceWhere } from './sql.js';
import { WriteBack } from './write-back.js';

/** What the poller needs of the engine. */
export interface AlarmEngine {
  raiseAlarm(app: string, alarm: RaisedAlarm): Promise<AlarmOutcome> | undefined;
  appNames(): string[];
}

export interface PollerDeps {
  readonly engine: AlarmEngine;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Handled alarms a previous run left in state.json. */
  readonly handled?: readonly HandledRecord[];
  /** Something to persist changed (the state writer's poke). */
  readonly onChange?: () => void;
  readonly openSource?: (cfg: AlarmsConfig) => AlarmSource;
  readonly wallNow?: () => number;
  readonly rand?: () => number;
}

export interface PollOptions {
  readonly whileRaised?: () => Promise<unknown>;
  readonly only?: ReadonlySet<string>;
}

/** One poll's story (for `check` and the tests). */
export interface PollReport {
  readonly ok: boolean;
  readonly fault?: Fault;
  readonly plan?: PollPlan;
  readonly acted: readonly { readonly app: string; readonly incident: string; readonly outcome: AlarmOutcome }[];
}

export class AlarmPoller {
  private readonly handled = new Map<number, HandledRecord>();
  private readonly warned = new Map<number, string>();
  private readonly writeBack: WriteBack;
  /** stop() was called: a poll still reading raises nothing. */
  private stopping = false;
  private toldLimit = false;
  private health: SourceHealth = initialHealth;
  /** The next poll: the regular interval, or the source's retry while it is down. */
  private nextMs = 0;
  private source: AlarmSource | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private closed = true;
  private readonly log: Logger;
  private readonly wallNow: () => number;
  private readonly rand: () => number;
  /** Bumped on every change of the handled records (the state writer compares it). */
  version = 0;

  constructor(
    private readonly cfg: AlarmsConfig,
    private readonly deps: PollerDeps,
  ) {
    for (const r of deps.handled ?? []) this.handled.set(r.process_id, r);
    this.log = deps.logger.child({ source: 'alarms' });
    this.wallNow = deps.wallNow ?? Date.now;
    this.rand = deps.rand ?? Math.random;
    this.writeBack = new WriteBack(cfg, () => this.source, this.log);
  }

  start(): void {
    this.closed = false;
    this.log.info(`alarm table: polling ${this.cfg.database}.${this.cfg.tables.status} at ${sourceWhere(this.cfg)} every ${Math.round(this.cfg.intervalMs / 1000)} s as ${this.cfg.user}`);
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.dropSource();
  }

  /** The handled alarms, for state.json. */
  records(): HandledRecord[] {
    return [...this.handled.values()];
  }

  /**
   * One poll: read, plan, raise, and once every raised alarm is settled, record and write back.
   * `whileRaised` runs after the raises (`check` runs its one pass there: no timers judge them);
   * `only`: raise alarms for these apps alone (`check --app`), leaving the others for later.
   */
  async pollOnce(opts: PollOptions = {}): Promise<PollReport> {
    const started = this.deps.clock.now();
    let rows: AlarmRow[];
    try {
      this.source ??= (this.deps.openSource ?? openAlarmSource)(this.cfg);
      rows = await this.source.poll();
    } catch (err) {
      const fault: Fault = err instanceof AlarmSourceError ? err.fault : { kind: 'refused', key: 'OPEN', text: `cannot open the database connection: ${describeError(err)}` };
      // A refused login or a password file that could not be read: open afresh next time, so a
      // rotated password (env at a reload, or the file) is read again.
      if (fault.key === 'OPEN' || fault.key === 'ER_ACCESS_DENIED_ERROR') void this.dropSource();
      this.step(pollFailed(this.health, fault, started, { intervalMs: this.cfg.intervalMs, capMs: this.cfg.reconnectMaxMs, rand: this.rand() }));
      await opts.whileRaised?.();
      return { ok: false, fault, acted: [] };
    }
    this.step(pollSucceeded(this.health, started, this.cfg.intervalMs));
    if (rows.length >= MAX_ROWS && !this.toldLimit) this.log.warn(`alarm table: ${MAX_ROWS} or more rows in alarm; reading the first ${MAX_ROWS} by process_id`);
    this.toldLimit = rows.length >= MAX_ROWS;
    const plan = planPoll(rows, this.handled, planContext(this.cfg, this.deps.engine.appNames(), this.wallNow()));
    this.forget(plan);
    this.warnOnce(plan);
    this.store(await this.writeBack.retryClears(plan.handled));
    // A poll that read while the monitor stopped raises nothing: no check would judge it.
    const act = this.stopping ? [] : plan.act.filter((t) => !opts.only || opts.only.has(t.app));
    const raised = act.map((t) => this.raise(t));
    await opts.whileRaised?.();
    const acted = await Promise.all(raised);
    return { ok: true, plan, acted };
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      const began = this.deps.clock.now();
      const run = this.pollOnce().catch((err: unknown) => this.log.error(`alarm table: poll failed unexpectedly: ${describeError(err)}`));
      this.running = run;
      void run.then(() => {
        this.running = undefined;
        const spent = this.deps.clock.now() - began;
        this.schedule(this.health.kind === 'up' ? Math.max(0, this.nextMs - spent) : this.nextMs);
      });
    }, ms);
  }

  private step(s: { health: SourceHealth; line?: { level: 'info' | 'warn' | 'error'; message: string }; nextMs: number }): void {
    this.health = s.health;
    this.nextMs = s.nextMs;
    if (s.line) this.log.log(s.line.level, s.line.message);
  }

  private async raise(target: Target): Promise<PollReport['acted'][number]> {
    const { app, rows } = target;
    const incident = ongoingIncident(rows, app, this.handled) ?? incidentId(this.wallNow(), rows[0]!.processId, this.rand());
    const detail = alarmDetail(app, rows, incident);
    const prev = this.handled.get(rows[0]!.processId);
    if (target.why !== 'held before' || prev?.incident !== incident) this.log.warn(`${detail}: asking for a remedy (${target.why})`);
    const outcome = (await this.deps.engine.raiseAlarm(app, { detail, incidentId: incident })) ?? { result: 'unobserved' as const, detail: `no app ${app} in the config` };
    if (outcome.result === 'held' && noteWorthy(outcome, prev, incident)) this.log.warn(`${detail}: held back: ${outcome.detail}`);
    const cleared = outcome.result === 'remedied' && this.cfg.onSuccess === 'clear' ? await this.writeBack.clear(rows) : undefined;
    const allCleared = cleared !== undefined && [...cleared.values()].every(Boolean);
    if (this.cfg.note) {
      for (const row of rows) {
        if (noteWorthy(outcome, this.handled.get(row.processId), incident)) await this.writeBack.note(row.processId, noteText(app, outcome, incident, allCleared, this.wallNow()));
      }
    }
    // A check that did not look (PM2 unreachable) says nothing new: what the alarm's incident last
    // came to stays its record, so the next hold is not news again.
    const unseen = outcome.result === 'unobserved' || outcome.result === 'superseded';
    this.store(rows.flatMap((row) => {
      const before = this.handled.get(row.processId);
      if (unseen && before?.incident === incident) return [];
      const done = cleared?.get(row.processId);
      return [{ ...recordOf(row, app, outcome, incident, before, this.wallNow()), ...(done === undefined ? {} : { cleared: done }) }];
    }));
    return { app, incident, outcome };
  }

  /** Keep these records (by process id) and tell the state writer. */
  private store(records: readonly HandledRecord[]): void {
    if (records.length === 0) return;
    for (const r of records) this.handled.set(r.process_id, r);
    this.changed();
  }

  /** The handled records changed: bump the version the state writer compares, and tell it. */
  private changed(): void {
    this.version++;
    this.deps.onChange?.();
  }

  private async dropSource(): Promise<void> {
    const old = this.source;
    this.source = undefined;
    await old?.close();
  }

  private forget(plan: PollPlan): void {
    for (const id of plan.forget) this.handled.delete(id);
    if (plan.forget.length > 0) this.changed();
    const inAlarm = new Set([...plan.unknown.map((u) => u.row.processId), ...plan.nameless.map((r) => r.processId)]);
    for (const id of this.warned.keys()) if (!inAlarm.has(id)) this.warned.delete(id);
  }

  private warnOnce(plan: PollPlan): void {
    for (const { row, name } of plan.unknown) {
      if (this.warned.get(row.processId) === name) continue;
      this.warned.set(row.processId, name);
      this.log.warn(`alarm table: process_id ${row.processId} (${JSON.stringify(row.processName)}) is in alarm, but no app ${JSON.stringify(name)} is configured: left alone (add it under apps:, or map it with alarms.map)`);
    }
    for (const row of plan.nameless) {
      if (this.warned.get(row.processId) === '') continue;
      this.warned.set(row.processId, '');
      this.log.warn(`alarm table: process_id ${row.processId} is in alarm, but has no process name in ${this.cfg.tables.processes}: left alone`);
    }
  }
}
