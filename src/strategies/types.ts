/**
 * The restart strategies besides PM2 (the original monitor's `restart_strategy`): `service`
 * restarts a systemd unit, `process` stops and starts a plain command under the safety scope.
 * `auto` is the engine's choice between them (service when the unit exists, else process).
 */
import type { Clock } from '../clock.js';
import type { KillScope } from '../config/schema.js';
import type { StepReporter } from '../steps/steps.js';
import type { FreePortsResult } from '../ports/free-port.js';

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
