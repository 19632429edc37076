/**
 * The watch command's output: the story monitor_mutex told, one line per event on stdout,
 * prefixed with the local time and the process name:
 *
 *   2026-11-23 20:00:01 [Worker] process started (pid 4242)
 *   2026-11-23 20:00:02 [Worker] new log bytes: +156
 *   2026-11-23 20:00:07 [Worker] waiting 5/60 s
 *   2026-11-23 20:01:03 [Worker] TIMEOUT: no new log lines for 60 s (limit 60 s)
 *   2026-11-23 20:01:03 [Worker] restarting: no new log lines in /tmp/worker.log for 60 s (timeout 60 s)
 *   2026-11-23 20:01:04 [Worker] restarted (pid 4250) in 0.4 s
 *
 * It is told from the engine's hooks (every observation, remedy events) and PM2's bus (exits
 * and starts PM2 did by itself). Lines that need a pid wait for a PM2 list; the order of lines
 * is kept by a queue.
 */
import type { Observation } from '../engine/decide.js';
import type { WorkerEvent } from '../engine/view.js';
import type { ProcessEvent } from '../pm2/adapter.js';
import type { Pm2State } from '../probes/types.js';
import type { WatchSpec } from './config.js';

export interface StoryDeps {
  /** One finished line (no newline). */
  readonly write: (line: string) => void;
  /** The app's pid in PM2 now (undefined when it does not run). */
  readonly pidOf: (pm2Name: string) => Promise<number | undefined>;
  readonly now?: () => Date;
}

/** `2026-11-23 20:00:01`, local time, like the original's log lines. */
export function formatTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Whole seconds, rounded down: `waiting` never shows the limit itself, a TIMEOUT never less. */
const seconds = (ms: number): number => Math.floor(ms / 1000);

interface AppStory {
  readonly spec: WatchSpec;
  lastPid: number | undefined;
  /** PM2's state at the last observation, and the last one told (changes away from online are told). */
  seenState: Pm2State;
  toldState: Pm2State;
  missingTold: boolean;
  remedying: boolean;
  /** pm_ids whose exit(stopping) we saw: their next exit is a stop, not a crash. */
  readonly stopping: Set<number>;
}

export class Story {
  private chain: Promise<void> = Promise.resolve();
  private readonly apps = new Map<string, AppStory>();
  private closing = false;
  private readonly now: () => Date;

  constructor(
    specs: readonly WatchSpec[],
    private readonly deps: StoryDeps,
  ) {
    this.now = deps.now ?? (() => new Date());
    for (const spec of specs) {
      this.apps.set(spec.pm2Name, { spec, lastPid: undefined, seenState: 'online', toldState: 'online', missingTold: false, remedying: false, stopping: new Set() });
    }
  }

  /** A line about the whole run (no process name). */
  say(text: string): void {
    this.enqueue(async () => text);
  }

  /** A line about one process, by its PM2 app name. */
  tell(pm2Name: string, text: string): void {
    const app = this.apps.get(pm2Name);
    if (app) this.enqueue(async () => `[${app.spec.name}] ${text}`);
  }

  /** The command runs in PM2 with this pid (after our start). */
  started(pm2Name: string, pid: number | undefined): void {
    const app = this.apps.get(pm2Name);
    if (!app) return;
    app.lastPid = pid;
    this.tell(pm2Name, pid ? `process started (pid ${pid})` : 'process started, but PM2 shows no pid yet');
  }

  /** One check of one app by the engine. */
  observation(pm2Name: string, obs: Observation): void {
    const app = this.apps.get(pm2Name);
    if (!app || this.closing) return;
    const state = obs.pm2.state;
    if (state !== 'online') {
      // PM2 restarting a command that exited passes through stopped for a moment: tell a state
      // only when a second check still sees it.
      if (state === app.seenState && state !== app.toldState) {
        this.tell(pm2Name, notOnline(state, pm2Name, obs.pm2.detail));
        app.toldState = state;
      }
      app.seenState = state;
      return;
    }
    app.seenState = state;
    app.toldState = state;
    const log = obs.others?.find((o) => o.kind === 'log');
    const info = log?.info ?? {};
    if (!log) return;
    if (info['missing'] === true) {
      if (!app.missingTold) this.tell(pm2Name, `log file ${String(info['file'] ?? app.spec.logFile)} is missing; waiting for it to appear`);
      app.missingTold = true;
      return;
    }
    app.missingTold = false;
    const silentMs = typeof info['silentMs'] === 'number' ? info['silentMs'] : 0;
    if (!log.ok) {
      this.tell(pm2Name, `TIMEOUT: no new log lines for ${seconds(silentMs)} s (limit ${app.spec.timeoutS} s)`);
      return;
    }
    const newBytes = typeof info['newBytes'] === 'number' ? info['newBytes'] : 0;
    if (info['rotated'] === true) this.tell(pm2Name, `log rotated or truncated (now ${newBytes} bytes)`);
    else if (newBytes > 0) this.tell(pm2Name, `new log bytes: +${newBytes}`);
    else this.tell(pm2Name, `waiting ${seconds(silentMs)}/${app.spec.timeoutS} s`);
  }

  /** A remedy or circuit event from the engine. */
  event(e: WorkerEvent): void {
    const app = this.apps.get(e.app);
    if (!app || this.closing) return;
    switch (e.type) {
      case 'remedy_started':
        app.remedying = true;
        this.tell(e.app, `restarting: ${e.reason ?? 'unhealthy'}`);
        return;
      case 'remedy_succeeded': {
        const took = e.durationMs === undefined ? '' : ` in ${(e.durationMs / 1000).toFixed(1)} s`;
        this.enqueue(async () => {
          const pid = await this.pid(e.app);
          app.lastPid = pid;
          return `[${app.spec.name}] restarted (pid ${pid ?? '?'})${took}`;
        });
        return;
      }
      case 'remedy_failed':
        this.tell(e.app, `restart failed: ${e.detail ?? e.reason ?? 'unknown reason'}`);
        return;
      case 'remedy_skipped':
        this.tell(e.app, `restart skipped: ${e.detail ?? 'unknown reason'}`);
        return;
      case 'circuit_opened':
        this.tell(e.app, `too many failed restarts; no more restarts for a while: ${e.detail ?? ''}`);
        return;
      case 'circuit_half_open':
        this.tell(e.app, `trying one restart again: ${e.detail ?? ''}`);
        return;
      case 'circuit_closed':
        this.tell(e.app, `restarts back to normal: ${e.detail ?? ''}`);
        return;
    }
  }

  /** The remedy of an app ended (after its events). */
  remedyDone(pm2Name: string): void {
    const app = this.apps.get(pm2Name);
    if (app) app.remedying = false;
  }

  /** A PM2 bus event: exits and starts PM2 did on its own (autorestart), not ours. */
  processEvent(e: ProcessEvent): void {
    const app = this.apps.get(e.name);
    if (!app || this.closing) return;
    if (e.event === 'exit') {
      // A stop (ours, or an operator's) sends exit(stopping) then exit(stopped); a crash a lone exit.
      if (e.status === 'stopping') return void app.stopping.add(e.pmId);
      if (app.stopping.delete(e.pmId) || e.manually || app.remedying) return;
      this.tell(e.name, `process exited${e.exitCode === undefined ? '' : ` (code ${e.exitCode})`}`);
      return;
    }
    app.stopping.delete(e.pmId);
    if (e.event !== 'online' || app.remedying) return;
    this.enqueue(async () => {
      const pid = await this.pid(e.name);
      if (pid === undefined || pid === app.lastPid) return undefined;
      app.lastPid = pid;
      return `[${app.spec.name}] process started (pid ${pid})`;
    });
  }

  /** From now on events are our own shutdown (a remedy cut short, exits): do not tell them. */
  closingDown(): void {
    this.closing = true;
  }

  /** Wait until every queued line is written. */
  flush(): Promise<void> {
    return this.chain;
  }

  private async pid(pm2Name: string): Promise<number | undefined> {
    try {
      return await this.deps.pidOf(pm2Name);
    } catch {
      return undefined;
    }
  }

  private enqueue(make: () => Promise<string | undefined>): void {
    this.chain = this.chain.then(async () => {
      try {
        const text = await make();
        if (text !== undefined) this.deps.write(`${formatTime(this.now())} ${text}`);
      } catch {
        // a story line is never worth crashing the watch for
      }
    });
  }
}

function notOnline(state: Pm2State, pm2Name: string, detail: string): string {
  switch (state) {
    case 'missing':
      return `PM2 no longer knows ${pm2Name} (deleted, or its daemon restarted); nothing to watch until it is back`;
    case 'stopped':
      return `stopped in PM2 (${detail}); \`pm2 start ${pm2Name}\` starts it again`;
    case 'errored':
      return `PM2 gave up restarting it (errored)`;
    default:
      return `PM2 status: ${state} (${detail})`;
  }
}
