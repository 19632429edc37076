/**
 * The restart strategies (the original monitor's `restart_strategy`), one interface: `pm2` stops
 * the app through PM2, frees its ports and starts it; `service` restarts a systemd unit;
 * `process` stops and starts a plain command under the safety scope. `auto` is chosen once per
 * app (choose.ts). Verifying health afterwards is the engine's job, the same for all three.
 */
import type { Clock } from '../clock.js';
import type { AppConfig, KillScope } from '../config/schema.js';
import type { ProcessInfo } from '../pm2/adapter.js';
import type { Pm2StatusOutcome } from '../probes/types.js';
import type { StepReporter } from '../steps/steps.js';
import type { FreePortsResult } from '../ports/free-port.js';
import type { KillLog } from '../ports/kill-log.js';

export type StrategyName = 'pm2' | 'service' | 'process';

export interface RestartOptions {
  /** The app is hung: do not wait politely for it to stop. */
  readonly hung?: boolean;
  /** Told before each step of a PM2 restart (the remedy journal); absent for the wrapper commands. */
  readonly journal?: JournalNote;
  /** The monitor is shutting down: take no further step (an RPC in flight still ends on its own). */
  readonly signal?: AbortSignal;
}

/**
 * A step of a PM2 restart about to be taken. A monitor stopped between "stop" and "start" would
 * leave the app stopped, and PM2 never starts what was stopped through it: the journal lets the
 * next start finish the job, and tell our stop from an operator's.
 */
export type JournalStep = 'stopping' | 'stopped' | 'starting' | 'restarting';

/** An instance as PM2 showed it before the step (restarts and start time tell a later start by someone else). */
export interface JournalInstance {
  readonly pmId: number;
  readonly pid: number;
  readonly restarts: number;
  readonly startedAt: number;
}

export type JournalNote = (step: JournalStep, instances: readonly JournalInstance[]) => void;

/** What the remedy says when the monitor's shutdown cut it short. */
export const ABANDONED = 'abandoned: the monitor is shutting down (the remedy journal keeps the step for the next start)';

/** The status fields of an app PM2 does not run. */
export const OUTSIDE_PM2 = { pids: [], pmIds: [], restarts: 0, uptimeMs: Number.MAX_SAFE_INTEGER } as const;

/** How an app is run, seen and restarted. */
export interface RestartStrategy {
  readonly name: StrategyName;
  /** Does status() read PM2's table? (Others must keep working while PM2 is down.) */
  readonly readsTable: boolean;
  /** Is the app running? From PM2's table, or from the system for apps outside PM2. Never acts. */
  status(app: AppConfig, table: readonly ProcessInfo[]): Pm2StatusOutcome;
  /** Stop, free the ports, start; each step goes to the reporter. Never throws. */
  restart(app: AppConfig, reporter: StepReporter, options?: RestartOptions): Promise<StrategyResult>;
}

export interface StrategyDeps {
  readonly clock: Clock;
  /** Each step (systemctl restart, wait for active, find, stop, free ports, start) is reported here. */
  readonly reporter: StepReporter;
  /** Environment for child commands (systemctl, the app's command); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where the signals sent and the holders refused are logged (ports/kill-log.ts). */
  readonly killLog?: KillLog;
}

/** What a strategy did. Strategies never throw: failures are `ok: false` with the reason. */
export interface StrategyResult {
  readonly ok: boolean;
  readonly detail: string;
  readonly ports?: FreePortsResult;
}

export interface ServiceSpec {
  /** The systemd unit (`helpdesk` or `helpdesk.service`). */
  readonly unit: string;
  /** Budget for `systemctl restart` plus waiting for `is-active`. */
  readonly timeoutMs: number;
}

export interface ProcessSpec {
  /** For messages only. */
  readonly appName: string;
  /** Shell command that starts the app, run by `/bin/sh -c` in its own session. */
  readonly command: string;
  /** The app's directory: configured, else the command's own; undefined when neither is known. */
  readonly cwd?: string;
  /** Where the pid of the started command is written, and read back to find the running instance. */
  readonly pidfile?: string;
  /** Substring of the command line that identifies the app's processes (like `pkill -f`). */
  readonly pattern?: string;
  /** stdout and stderr of the started command are appended here. */
  readonly logFile: string;
  /** SIGTERM to SIGKILL when stopping the running instance. */
  readonly stopGraceMs: number;
  /** Ports freed (under the app's scope) between stop and start. */
  readonly ports: readonly number[];
  readonly killScope: KillScope;
  /** SIGTERM to SIGKILL when freeing a port. */
  readonly killGraceMs: number;
}
