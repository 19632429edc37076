/** Raw probe outcomes: what one probe saw once, before any smoothing into app health. */
export type HttpFailure = 'timeout' | 'refused' | 'status' | 'body-too-large' | 'error';

export type HttpOutcome =
  | { readonly ok: true; readonly status: number; readonly latencyMs: number }
  | { readonly ok: false; readonly failure: HttpFailure; readonly status?: number; readonly latencyMs: number; readonly detail: string };

/** PM2's view of an app, summarised across its instances. */
export type Pm2State = 'online' | 'launching' | 'stopping' | 'stopped' | 'errored' | 'missing';

export interface Pm2StatusOutcome {
  readonly state: Pm2State;
  readonly pids: readonly number[];
  readonly pmIds: readonly number[];
  readonly restarts: number;
  /** ms since the most recent instance start (wall clock difference at observation time). */
  readonly uptimeMs: number;
  readonly detail: string;
}
