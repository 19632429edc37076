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

/** A TCP or exec probe's outcome, a rule's, or an alarm raised from outside (the alarm table), as the policy sees it. */
export interface OtherProbeOutcome {
  readonly kind: 'tcp' | 'exec' | 'log' | 'memory' | 'cpu' | 'log-match' | 'alarm';
  readonly ok: boolean;
  readonly latencyMs: number;
  /** Why it failed, for people (`tcp 127.0.0.1:5000 refused`). */
  readonly detail?: string;
  /** A rule that already smoothed over time (log timeout, memory `for`): no failure_threshold. */
  readonly urgent?: boolean;
  /** Worth telling, not a failure (a log_match rule with action notify fired). */
  readonly notice?: string;
  /** What a rule saw (new log bytes, silence, RSS), for the watch command's story. */
  readonly info?: Readonly<Record<string, number | string | boolean>>;
}

/** Why a health_check_command failed: a non-zero exit (or death by a signal), its deadline, or /bin/sh not starting. */
export type ExecFailure = 'exit' | 'timeout' | 'spawn';

export type ExecOutcome =
  | { readonly ok: true; readonly latencyMs: number; readonly exitCode: 0 }
  | {
      readonly ok: false;
      readonly latencyMs: number;
      readonly failure: ExecFailure;
      readonly exitCode?: number;
      /** The signal that ended the command (e.g. it killed itself); absent on a timeout, where we killed it. */
      readonly signal?: string;
      /** One line: the reason, the exit code and the tail of stderr (else stdout). */
      readonly detail: string;
    };

export type TcpFailure = 'refused' | 'timeout' | 'error';

export type TcpOutcome =
  | { readonly ok: true; readonly latencyMs: number }
  | { readonly ok: false; readonly latencyMs: number; readonly failure: TcpFailure; readonly detail: string };
