/**
 * Keeps state.json fresh without paying for it on every check. A poke only marks the state
 * dirty: routine changes are written at most once a second (one timer for all apps), urgent
 * ones (a remedy, a circuit change, a reset: a kill -9 must not forget an open circuit) at once.
 * Whether anything persisted changed is told by comparing a few facts per app with the ones last
 * written, in place, instead of building and serialising the whole document to compare it.
 */
import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import { pauseInForce } from '../engine/control-log.js';
import { toStateDocument } from '../engine/state-document.js';
import type { HandledAlarmRecord } from '../engine/state-document.js';
import type { WorkerView } from '../engine/view.js';
import type { Logger } from '../log/logger.js';
import { redactDeep } from '../redact.js';
import { writeJsonAtomic } from '../state/state-file.js';

export interface StateWriter {
  /** Something may have changed; `urgent`: write now. */
  poke(urgent: boolean): void;
  /** Write now if anything changed (and cancel a pending write). */
  flush(): void;
}

/** Check times and latencies change every check: alone they are written at most once a minute. */
const REFRESH_MS = 60_000;
const DEBOUNCE_MS = 1000;

/** What the alarm trigger persists beside the apps: its handled alarms, and a counter bumped on every change. */
export interface AlarmMemory {
  readonly version: number;
  records(): readonly HandledAlarmRecord[];
}

export function stateWriter(path: string, views: () => readonly WorkerView[], clock: Clock, logger: Logger, alarms?: () => AlarmMemory | undefined): StateWriter {
  let timer: NodeJS.Timeout | undefined;
  let lastWriteAt = -Infinity;
  let warned = false;
  const marks = new Marks();
  const write = (force: boolean): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const now = clock.now();
    const current = views();
    const memory = alarms?.();
    const changed = marks.update(current, now, Date.now(), memory?.version);
    if (!force && !changed && now - lastWriteAt < REFRESH_MS) return;
    try {
      const doc = toStateDocument(current, now);
      writeJsonAtomic(path, redactDeep(memory ? { ...doc, alarms: { handled: memory.records() } } : doc));
      lastWriteAt = now;
      warned = false;
    } catch (err) {
      marks.forget(); // not on disk: the next flush must write
      if (!warned) logger.warn(`cannot write the state file ${path}: ${describeError(err)}`);
      warned = true;
    }
  };
  return {
    poke: (urgent) => {
      if (urgent) write(true);
      else timer ??= setTimeout(() => write(false), DEBOUNCE_MS);
    },
    flush: () => write(false),
  };
}

/**
 * The persisted facts of each app as last written, one row per app, compared and updated in
 * place (no allocation once the rows exist). They mirror what toStateDocument writes, except
 * the check time and the latency; a fact left out here is still written, within REFRESH_MS.
 */
class Marks {
  private readonly rows = new Map<string, unknown[]>();
  private alarmsVersion: number | undefined;
  private row: unknown[] = [];
  private at = 0;
  private same = true;

  /** Take the views' facts; true when any differs from the last ones (or an app came or went). */
  update(views: readonly WorkerView[], monoNow: number, wallNow: number, alarmsVersion?: number): boolean {
    let changed = views.length !== this.rows.size;
    if (changed) this.rows.clear();
    if (alarmsVersion !== this.alarmsVersion) changed = true;
    this.alarmsVersion = alarmsVersion;
    for (const v of views) {
      let row = this.rows.get(v.app);
      if (!row) {
        row = [];
        this.rows.set(v.app, row);
        changed = true;
      }
      this.row = row;
      this.at = 0;
      this.same = true;
      const s = v.state;
      // Not consecutiveSuccesses: it grows with every healthy check, and alone is not worth a write
      // (it is written with the next real change; a restored count only shortens a recovery).
      this.put(s.phase); this.put(s.consecutiveFailures); this.put(s.failedRemedies);
      this.put(s.leftStopped); this.put(s.circuit); this.put(s.circuitSince); this.put(s.lastReason);
      this.put(s.recentFailures.length); this.put(s.recentFailures.at(-1));
      this.put(s.backoffUntil > monoNow ? s.backoffUntil : 0);
      this.put(pauseInForce(v.control.pausedUntil, wallNow));
      this.put(v.resetSeen);
      const h = v.lastObservation?.http;
      this.put(v.lastObservation !== undefined); this.put(h?.ok); this.put(h?.status); this.put(h?.ok === false ? h.detail : undefined);
      this.put(v.history.length); this.put(v.history.at(-1));
      if (!this.same) changed = true;
    }
    return changed;
  }

  forget(): void {
    this.rows.clear();
    this.alarmsVersion = undefined;
  }

  private put(value: unknown): void {
    if (this.row[this.at] !== value) {
      this.row[this.at] = value;
      this.same = false;
    }
    this.at++;
  }
}
