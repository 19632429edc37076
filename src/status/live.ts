/**
 * The status document of a running monitor, from what its workers know now: the same document
 * `status --json` prints (schemas/status.schema.json), without probing anything or asking PM2.
 * The command probes live; the server answers from the last check of each app, so a scrape or a
 * page view costs a /proc scan for the port holders and nothing else.
 */
import type { MonitorConfig } from '../config/schema.js';
import { verdictOf } from '../engine/decide.js';
import { toStateDocument } from '../engine/state-document.js';
import type { WorkerView } from '../engine/view.js';
import { updateStatus } from '../update/view.js';
import { scheduleStatus } from '../schedules/view.js';
import { statusRow, type PortHolder, type StatusRow } from './rows.js';

export interface MonitorRecord {
  readonly pid: number;
  readonly hostname: string;
  readonly started_at: string;
  readonly live: boolean;
}

export interface StatusDocument {
  readonly healthy: boolean;
  readonly monitor: MonitorRecord | null;
  readonly apps: readonly StatusRow[];
}

export interface LiveInput {
  readonly config: MonitorConfig;
  readonly views: readonly WorkerView[];
  /** The monitor's monotonic now (the views' times are on that clock). */
  readonly monoNow: number;
  readonly stateDir: string;
  readonly monitor: MonitorRecord;
  /** Holders of the configured apps' ports (one /proc scan for all). */
  readonly holders: readonly PortHolder[];
}

export function liveStatusDocument(input: LiveInput): StatusDocument {
  const { config, views, holders } = input;
  const records = toStateDocument(views, input.monoNow).apps;
  const apps = views.flatMap((v): StatusRow[] => {
    const app = config.apps.find((a) => a.name === v.app);
    if (!app) return [];
    const monitor = records[v.app];
    const update = app.update ? updateStatus(input.stateDir, v.app, app.update) : undefined;
    // From the schedule's record: the page asks PM2 nothing.
    const schedule = scheduleStatus(input.stateDir, v.app, app.schedule, undefined, Date.now());
    const strategy = v.strategy ?? app.strategy;
    const obs = v.lastObservation;
    if (!obs) {
      // Not checked yet: nothing seen, nothing claimed.
      return [{
        name: app.name, healthy: false, reason: v.lastError ? `cannot observe the app: ${v.lastError}` : 'not checked yet', strategy,
        pm2: { status: 'unknown', pids: [], uptime_ms: 0, restarts: 0 },
        ports: app.ports.map((port) => ({ port, holders: holders.filter((h) => h.port === port).map(({ pid, command, uid }) => ({ pid, command, uid })) })),
        ...(monitor ? { monitor } : {}),
        ...(update ? { update } : {}),
        ...(schedule ? { schedule } : {}),
      }];
    }
    return [statusRow({ app, strategy, observation: obs, verdict: verdictOf(v.state, obs, app), holders, ...(monitor ? { monitor } : {}), ...(update ? { update } : {}), ...(schedule ? { schedule } : {}) })];
  });
  return { healthy: apps.every((a) => a.healthy), monitor: input.monitor, apps };
}
