/**
 * PM2's process table as the monitor knows it, kept from the bus. PM2's full list carries every
 * app's whole environment (hundreds of KB for 50 apps): fetched every second it was most of the
 * monitor's garbage. Bus packets carry name, pm_id, status, restarts and start time but no pid,
 * so the table asks PM2 for one process (describe) when an instance comes online, and for the
 * full list only when it cannot trust what it has: at the start, after the bus reconnected
 * (events were lost), after our own actions, when an event names an unknown pm_id, and every
 * reconcile period, which also corrects any event the bus dropped.
 */
import type { Clock } from '../clock.js';
import type { Pm2Port, ProcessEvent, ProcessInfo } from './adapter.js';

export interface TableOptions {
  /** The longest the table goes without a full list (reconcile_interval). */
  readonly reconcileMs: () => number;
  /** Every instance a list or describe showed (the engine's ledger of the app's instances). */
  readonly onRows?: (rows: readonly ProcessInfo[]) => void;
}

/** Why the last full list was fetched (for tests and debug logs). */
export type RefreshReason = 'start' | 'reconcile' | 'invalidated' | 'crash' | 'squatter search' | 'before a remedy' | 'unknown pm_id' | 'bus reconnected' | 'bus down';

const GONE = new Set(['stopped', 'stopping', 'errored']);

export class ProcessTable {
  private rows: ProcessInfo[] = [];
  private loadedAt: number | undefined;
  private stale: RefreshReason | undefined = 'start';
  private inflight: Promise<ProcessInfo[]> | undefined;
  /** Bumped by invalidate() and events: a list started before it must not overwrite them. */
  private generation = 0;
  private readonly describing = new Set<number>();
  /** The bus lost the daemon: nothing it does not say can be trusted, so every read lists. */
  private busDown = false;
  /** Full lists fetched so far, by reason (the bench and tests read it). */
  readonly refreshes = new Map<RefreshReason, number>();

  constructor(
    private readonly pm2: Pm2Port,
    private readonly clock: Clock,
    private readonly options: TableOptions,
  ) {}

  /**
   * The table, refreshed first when it is stale or due for its reconcile, or older than
   * `maxAgeMs` (0: a one-pass check, which has no bus to keep it fresh, lists every time).
   */
  async current(maxAgeMs = Infinity): Promise<readonly ProcessInfo[]> {
    const age = this.loadedAt === undefined ? Infinity : this.clock.now() - this.loadedAt;
    const due = age >= Math.min(maxAgeMs, this.options.reconcileMs());
    if (this.stale === undefined && !due && !this.busDown) return this.rows;
    return this.refresh(this.stale ?? (this.busDown ? 'bus down' : 'reconcile'));
  }

  /**
   * The table without waiting, when current() would not list (the common case: a check reads
   * it every interval and should not pay for a promise to get it); undefined otherwise.
   */
  peek(maxAgeMs = Infinity): readonly ProcessInfo[] | undefined {
    if (this.stale !== undefined || this.busDown || this.loadedAt === undefined) return undefined;
    return this.clock.now() - this.loadedAt >= Math.min(maxAgeMs, this.options.reconcileMs()) ? undefined : this.rows;
  }

  /** A full list now (joining one in flight). */
  refresh(reason: RefreshReason): Promise<ProcessInfo[]> {
    if (this.inflight) return this.inflight;
    const generation = this.generation;
    const started = this.clock.now();
    this.refreshes.set(reason, (this.refreshes.get(reason) ?? 0) + 1);
    const fetch = this.pm2
      .list()
      .then((list) => {
        this.options.onRows?.(list);
        if (generation === this.generation) {
          this.rows = list;
          this.loadedAt = started;
          this.stale = undefined;
        }
        return list;
      })
      .finally(() => {
        if (this.inflight === fetch) this.inflight = undefined;
      });
    this.inflight = fetch;
    return fetch;
  }

  /** Our own action changed PM2's state: the next read lists afresh. */
  invalidate(reason: RefreshReason = 'invalidated'): void {
    this.generation++;
    this.stale = reason;
    this.inflight = undefined;
  }

  /** The bus lost the daemon (events stop coming): read PM2 itself until it is back. */
  busDisconnected(): void {
    this.busDown = true;
  }

  /** The bus (re)connected: whatever happened while it was away is unknown. */
  busConnected(): void {
    this.busDown = false;
    if (this.loadedAt !== undefined) this.invalidate('bus reconnected');
  }

  /** Fold one bus event into the table. */
  apply(e: ProcessEvent): void {
    const i = this.rows.findIndex((r) => r.pmId === e.pmId);
    const row = this.rows[i];
    if (!row || row.name !== e.name) {
      // A new app (or a pm_id reused by another one): only a list says what it is.
      if (this.loadedAt !== undefined) this.invalidate('unknown pm_id');
      return;
    }
    if (e.event === 'delete') {
      this.generation++;
      this.rows = this.rows.filter((r) => r.pmId !== e.pmId);
      return;
    }
    const status = e.status ?? row.status;
    const next: ProcessInfo = {
      ...row,
      status,
      ...(e.restarts !== undefined ? { restarts: e.restarts } : {}),
      ...(e.startedAt !== undefined ? { startedAt: e.startedAt } : {}),
      // The packet has no pid: a gone instance has none, a new one is looked up below.
      ...(GONE.has(status) ? { pid: 0 } : {}),
    };
    this.generation++;
    this.rows = this.rows.map((r, j) => (j === i ? next : r));
    if (e.event === 'online' || (status === 'online' && next.startedAt !== row.startedAt)) this.lookUpPid(e.pmId);
  }

  /** Fill in the pid of an instance that came online (one describe, coalesced per pm_id). */
  private lookUpPid(pmId: number): void {
    if (this.describing.has(pmId)) return;
    this.describing.add(pmId);
    const generation = this.generation;
    void this.pm2
      .describe(pmId)
      .then((info) => {
        if (!info) return this.invalidate('unknown pm_id');
        this.options.onRows?.([info]);
        // A later event for this pm_id is newer than what describe saw: keep its status.
        const newer = this.generation !== generation;
        this.rows = this.rows.map((r) => (r.pmId !== pmId ? r : newer ? { ...r, pid: r.status === 'online' ? info.pid : r.pid } : info));
      })
      .catch(() => this.invalidate('invalidated'))
      .finally(() => this.describing.delete(pmId));
  }
}
