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

export type StrategyName = 'pm2' | 'service' | 'process';

export interface RestartOptions {
  /** The app is hung: do not wait politely for it to stop. */
  readonly hung?: boolean;
}

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
