/**
 * Which pm2 to talk through: inside PM2 (as a module) the daemon's own copy, found from
 * ProcessContainerFork's path, so client and daemon never differ in version; else our dependency.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';

type Callback<T> = (err: Error | null, value: T) => void;

/** The slice of the pm2 programmatic API the adapter uses. */
export interface Pm2Api {
  connect(cb: (err: Error | null) => void): void;
  disconnect(cb?: () => void): void;
  list(cb: Callback<RawProcess[]>): void;
  describe(target: string | number, cb: Callback<RawProcess[]>): void;
  stop(target: string | number, cb: Callback<unknown>): void;
  restart(target: string | number, cb: Callback<unknown>): void;
  reload(target: string | number, cb: Callback<unknown>): void;
  start(config: string | Record<string, unknown>, cb: Callback<unknown>): void;
  delete(target: string | number, cb: Callback<unknown>): void;
  launchBus(cb: (err: Error | null, bus: Pm2Bus, socket?: { on?(event: 'connect' | 'reconnect attempt', f: () => void): unknown }) => void): void;
  Client: { pingDaemon(cb: (alive: boolean) => void): void };
}

export interface Pm2Bus {
  on(event: string, listener: (data: unknown) => void): void;
  off?(event: string, listener?: (data: unknown) => void): void;
  close?(): void;
}

/** The fields of a pm2 list entry that we read. */
export interface RawProcess {
  name?: string;
  pid?: number;
  pm_id?: number;
  monit?: { memory?: number; cpu?: number };
  pm2_env?: {
    status?: string;
    restart_time?: number;
    unstable_restarts?: number;
    pm_uptime?: number;
    exec_mode?: string;
    pm_cwd?: string;
    pm_exec_path?: string;
    pm_out_log_path?: string;
    pm_err_log_path?: string;
    pmx_module?: boolean;
    axm_options?: unknown;
    /** PM2's cron_restart (a string; `0` or absent when none). */
    cron_restart?: unknown;
  };
}

/** Load the pm2 API, preferring the running daemon's copy when we are a PM2 module. */
export function loadPm2(argv1: string | undefined = process.argv[1]): Pm2Api {
  const req = createRequire(import.meta.url);
  if (argv1 && basename(argv1).startsWith('ProcessContainer')) {
    const root = dirname(dirname(argv1));
    if (existsSync(join(root, 'index.js'))) {
      try {
        return req(root) as Pm2Api;
      } catch {
        // fall through to our own dependency
      }
    }
  }
  return req('pm2') as Pm2Api;
}
