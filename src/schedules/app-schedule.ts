/**
 * One app's schedule, followed beside PM2: a node-schedule job on the app's cron_restart; at each
 * tick it notes the app's starts on the bus, and at the window's end asks PM2 for the app once and
 * lets decide.ts say who fired. The monitor fires (restart by pm_id, which starts a stopped app
 * and re-arms PM2's own cron) only when PM2 did not. One tick is pending at a time: a newer tick
 * covers an older one still waiting. Every decision is recorded (store.ts) and logged once.
 */
import type { Job } from 'node-schedule';
import type { ScheduleConfig } from '../config/schedule.js';
import type { Logger } from '../log/logger.js';
import type { Pm2Port, ProcessEvent } from '../pm2/adapter.js';
import { describeError } from '../errors.js';
import { tickAtOrBefore } from '../config/cron.js';
import { TRANSITION_WINDOWS, decideCatchUp, decideTick, type AppNow, type Firer } from './decide.js';
import { readRecord, writeRecord, type ScheduleRecord } from './store.js';

export interface AppScheduleDeps {
  readonly pm2: Pm2Port;
  readonly logger: Logger;
  readonly stateDir: string;
  /** Wall-clock ms (ticks are wall-clock times). */
  readonly now: () => number;
  /** node-schedule, loaded once by whoever starts the first schedule. */
  readonly scheduleJob: (expr: string, fire: (at: Date) => void) => Job | null;
}

/** How often, and how far apart, catch-up asks again for an app PM2 does not list (yet). */
const CATCH_UP_ASKS = 5;
const CATCH_UP_AGAIN_MS = 2000;
/** Starts remembered per app (the bus can say online and restart for one start). */
const STARTS_KEPT = 16;

type Asked = { readonly ok: true; readonly app: AppNow | undefined } | { readonly ok: false; readonly why: string };

export class AppSchedule {
  private job: Job | null = null;
  private pending: { readonly tick: number; timer?: NodeJS.Timeout } | undefined;
  private retry: NodeJS.Timeout | undefined;
  private catching = false;
  private readonly starts: number[] = [];
  private record: ScheduleRecord;
  private stopped = false;

  constructor(
    readonly app: string,
    private pmId: number,
    readonly expression: string,
    readonly cfg: ScheduleConfig,
    private readonly deps: AppScheduleDeps,
  ) {
    const saved = readRecord(deps.stateDir, app);
    // A changed expression starts afresh: its old ticks say nothing about the new one's.
    this.record = saved && saved.expression === expression ? saved : { expression, ...(saved?.last_fired ? { last_fired: saved.last_fired } : {}) };
  }

  /** Arm the job and settle what was missed while the monitor (or PM2) was down. */
  start(): void {
    this.job = this.deps.scheduleJob(this.expression, (at) => this.onTick(at.getTime()));
    void this.catchUp();
  }

  /** PM2 renumbered the app (a resurrect): follow it by its new pm_id. */
  follow(pmId: number): void {
    this.pmId = pmId;
  }

  onEvent(e: ProcessEvent): void {
    if (e.pmId !== this.pmId || (e.event !== 'online' && e.event !== 'restart')) return;
    this.starts.push(e.startedAt ?? this.deps.now());
    if (this.starts.length > STARTS_KEPT) this.starts.shift();
  }

  /**
   * What was missed while the monitor or the daemon was down (at start, and when the bus is
   * back). PM2 answering without the app (a resurrect lists apps one by one) is asked again.
   */
  async catchUp(attempt = 0): Promise<void> {
    // One at a time: a start and a reconnection may ask together, and only one may fire.
    if (this.catching) return;
    this.catching = true;
    try {
      await this.catchUpOnce(attempt);
    } finally {
      this.catching = false;
    }
  }

  private async catchUpOnce(attempt: number): Promise<void> {
    const now = this.deps.now();
    const asked = await this.ask();
    if (this.stopped || !asked.ok) return;
    if (!asked.app && attempt < CATCH_UP_ASKS) {
      this.retry = setTimeout(() => void this.catchUp(attempt + 1), CATCH_UP_AGAIN_MS);
      return;
    }
    const lastTick = this.record.last_tick ? Date.parse(this.record.last_tick) : undefined;
    const d = decideCatchUp({ now, catchUp: this.cfg.catchUp, windowMs: this.cfg.windowMs, lastDue: tickAtOrBefore(this.expression, now), lastTick, app: asked.app });
    if (d.kind === 'tick') return this.onTick(d.tick);
    if (this.pending) return; // a tick in progress decides (and records) for itself
    if (d.kind === 'skip') {
      if (d.tick !== undefined) this.save({ ...this.record, last_tick: iso(d.tick) });
      else if (!readRecord(this.deps.stateDir, this.app)) this.save(this.record);
      if (lastTick !== undefined && d.tick !== undefined) this.deps.logger.info(`schedule: catch-up skipped: ${d.reason}`, { app: this.app });
      return;
    }
    if (d.kind === 'leave-to-pm2') return this.firedBy('pm2', d.tick, d.startedAt, `catch-up: ${d.reason}`);
    await this.fire(d.tick, `catch-up: ${d.reason}`);
  }

  private onTick(tick: number): void {
    if (this.stopped || this.pending?.tick === tick) return;
    this.deps.logger.debug(`schedule: tick at ${iso(tick)}`, { app: this.app });
    if (this.pending) {
      clearTimeout(this.pending.timer);
      this.deps.logger.info(`schedule: the tick at ${iso(this.pending.tick)} is covered by the next one at ${iso(tick)}`, { app: this.app });
    }
    this.pending = { tick };
    this.evaluateAt(tick + this.cfg.windowMs);
  }

  private evaluateAt(at: number): void {
    const p = this.pending;
    if (!p) return;
    p.timer = setTimeout(() => void this.evaluate(p.tick), Math.max(0, at - this.deps.now()));
  }

  private async evaluate(tick: number): Promise<void> {
    if (this.stopped || this.pending?.tick !== tick) return;
    const asked = await this.ask();
    if (this.stopped || this.pending?.tick !== tick) return;
    const now = this.deps.now();
    if (!asked.ok) {
      this.deps.logger.debug(`schedule: PM2 did not answer about the tick at ${iso(tick)}: ${asked.why}`, { app: this.app });
      // As long as a stop in progress may be waited out; past that the tick counts as missed and
      // catch_up decides it when the bus is back (a late firing is not what `skip` promises).
      if (now - tick < this.cfg.windowMs * (1 + TRANSITION_WINDOWS)) return this.evaluateAt(now + 1000);
      this.pending = undefined;
      this.deps.logger.warn(`schedule: PM2 did not answer about the tick at ${iso(tick)} (${asked.why}); left to catch_up when it is back`, { app: this.app });
      return;
    }
    const lastTick = this.record.last_tick ? Date.parse(this.record.last_tick) : undefined;
    const d = decideTick({ tick, now, windowMs: this.cfg.windowMs, startsSeen: this.starts, app: asked.app, ...(lastTick === undefined ? {} : { lastTick }) });
    if (d.kind === 'wait') {
      this.deps.logger.debug(`schedule: the tick at ${iso(tick)} waits until ${iso(d.at)}: ${d.reason}`, { app: this.app });
      return this.evaluateAt(d.at);
    }
    this.pending = undefined;
    if (d.kind === 'leave-to-pm2') return this.firedBy('pm2', tick, d.startedAt, d.reason);
    if (d.kind === 'skip') {
      this.save({ ...this.record, last_tick: iso(tick) });
      this.deps.logger.info(`schedule: nobody fired the tick at ${iso(tick)}: ${d.reason}`, { app: this.app });
      return;
    }
    await this.fire(tick, d.reason);
  }

  /**
   * PM2's answer about this app, checked by name: a resurrect renumbers apps, so a pm_id may be
   * gone or another app's. Then the app is looked up by name in PM2's list and followed there.
   */
  private async ask(): Promise<Asked> {
    try {
      const p = await this.deps.pm2.describe(this.pmId);
      if (p && p.name === this.app) return { ok: true, app: { status: p.status, startedAt: p.startedAt } };
      const mine = (await this.deps.pm2.list()).filter((q) => q.name === this.app && !q.isModule);
      if (mine.length > 1) return { ok: false, why: `${mine.length} instances now` };
      const found = mine[0];
      if (!found) return { ok: true, app: undefined };
      if (found.pmId !== this.pmId) this.deps.logger.info(`schedule: following pm_id ${found.pmId} (was ${this.pmId})`, { app: this.app });
      this.pmId = found.pmId;
      return { ok: true, app: { status: found.status, startedAt: found.startedAt } };
    } catch (err) {
      return { ok: false, why: describeError(err) };
    }
  }

  private async fire(tick: number, reason: string): Promise<void> {
    this.save({ ...this.record, last_tick: iso(tick) }); // before acting: a crash mid-fire must not fire again
    try {
      await this.deps.pm2.act('restart', this.pmId);
    } catch (err) {
      this.deps.logger.error(`schedule: the monitor could not fire the tick at ${iso(tick)} (restart of pm_id ${this.pmId}): ${describeError(err)}`, { app: this.app });
      return;
    }
    this.firedBy('monitor', tick, this.deps.now(), reason);
  }

  private firedBy(by: Firer, tick: number, at: number, reason: string): void {
    this.save({ ...this.record, last_tick: iso(tick), last_fired: { at: iso(at), by, tick: iso(tick), reason } });
    const who = by === 'pm2' ? 'PM2 fired' : `the monitor fired (restart of pm_id ${this.pmId})`;
    this.deps.logger.info(`schedule: ${who} the tick at ${iso(tick)}: ${reason}`, { app: this.app, schedule: { by, tick: iso(tick), reason } });
  }

  private save(record: ScheduleRecord): void {
    this.record = record;
    try {
      writeRecord(this.deps.stateDir, this.app, record);
    } catch (err) {
      this.deps.logger.warn(`schedule: cannot save the schedule record: ${describeError(err)}`, { app: this.app });
    }
  }

  stop(): void {
    this.stopped = true;
    this.job?.cancel();
    this.job = null;
    if (this.pending) clearTimeout(this.pending.timer);
    clearTimeout(this.retry);
    this.pending = undefined;
  }
}

const iso = (t: number): string => new Date(t).toISOString();
