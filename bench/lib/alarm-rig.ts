/**
 * The alarm bench's rig: the seed's tables in a throwaway MariaDB, the `alarms:` config built
 * through the real schema (so defaults such as reconnect_max come from src/config/alarms.ts),
 * an AlarmSource wrapper that stamps every poll and write (so the bench knows when the poller
 * saw an alarm, and how many connection attempts it made while the server was down), the
 * engine with its poller beside it as src/app/open.ts wires them, and the server's counters.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { AlarmPoller } from '../../src/alarms/poller.js';
import { openAlarmSource, type AlarmSource } from '../../src/alarms/source.js';
import { AlarmSourceError } from '../../src/errors.js';
import { systemClock } from '../../src/clock.js';
import { alarmsSchema, toAlarmsConfig, type AlarmsConfig } from '../../src/config/alarms.js';
import { SEED_DATABASE } from '../../test/helpers/mariadb.js';
import { startTestMonitor, type TestMonitor } from '../../test/helpers/monitor.js';
import { healthUrl, type Sandbox } from '../../test/helpers/sandbox.js';
import type { LabApp } from './lab.js';

/** The env var the bench puts the monitor account's password in (never printed). */
export const PASSWORD_ENV = 'HDM_BENCH_DB_PASSWORD';
export const DB = SEED_DATABASE;

export interface DbTarget {
  readonly port: number;
  readonly user: string;
}

/** The `alarms:` block as a user writes it: TCP on loopback, the least-privilege account. */
export function alarmsBlock(db: DbTarget, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { host: '127.0.0.1', port: db.port, user: db.user, password_env: PASSWORD_ENV, ...extra };
}

/** The same block through the real schema and defaults. */
export function alarmsConfig(db: DbTarget, extra: Record<string, unknown> = {}): AlarmsConfig {
  return toAlarmsConfig(alarmsSchema.parse(alarmsBlock(db, extra)));
}

/** The app as the monitor watches it: probes every 1 s, no startup grace (as the alarm tests). */
export function appBlock(app: LabApp): Record<string, unknown> {
  return {
    name: app.name, ports: [app.port], startup_grace: 0, verify_timeout: '20s',
    health: { url: healthUrl(app.port), interval: '1s', timeout: '500ms', failure_threshold: 2 },
  };
}

export interface PollStamp {
  /** performance.now() at the call and at its end. */
  readonly startMs: number;
  readonly endMs: number;
  readonly ok: boolean;
  readonly rows: number;
  /** process.cpuUsage() user + system from the call to its end, µs (anything else the process did meanwhile included). */
  readonly cpuUs: number;
  /** The fault's key when it failed (ECONNREFUSED, ...). */
  readonly code?: string;
}

export interface UpdateStamp {
  readonly endMs: number;
  readonly changed: number | undefined;
}

/** Every poll and write of the sources it opens, stamped. */
export class SourceRecord {
  opens = 0;
  readonly polls: PollStamp[] = [];
  readonly updates: UpdateStamp[] = [];

  /** For PollerDeps.openSource: the real source, wrapped. */
  readonly open = (cfg: AlarmsConfig): AlarmSource => {
    this.opens++;
    const s = openAlarmSource(cfg);
    return {
      where: s.where,
      poll: async () => {
        const c0 = process.cpuUsage();
        const startMs = performance.now();
        const stamp = (): { endMs: number; cpuUs: number } => {
          const c = process.cpuUsage(c0);
          return { endMs: performance.now(), cpuUs: c.user + c.system };
        };
        try {
          const rows = await s.poll();
          this.polls.push({ startMs, ...stamp(), ok: true, rows: rows.length });
          return rows;
        } catch (err) {
          this.polls.push({ startMs, ...stamp(), ok: false, rows: 0, code: err instanceof AlarmSourceError ? err.fault.key : 'OTHER' });
          throw err;
        }
      },
      update: async (stmt) => {
        try {
          const changed = await s.update(stmt);
          this.updates.push({ endMs: performance.now(), changed });
          return changed;
        } catch (err) {
          this.updates.push({ endMs: performance.now(), changed: undefined });
          throw err;
        }
      },
      close: () => s.close(),
    };
  };
}

/** An AlarmPoller beside `monitor`'s engine, through a recording source; started. */
export function startPoller(monitor: TestMonitor, cfg: AlarmsConfig, rec: SourceRecord): AlarmPoller {
  const poller = new AlarmPoller(cfg, { engine: monitor.engine, logger: monitor.logger, clock: systemClock, openSource: rec.open });
  poller.start();
  return poller;
}

/** The engine for one app, with an `alarms:` block in its config (the poller is started apart). */
export function startEngine(sb: Sandbox, app: LabApp, alarms: Record<string, unknown>): TestMonitor {
  return startTestMonitor(sb, { alarms, apps: [appBlock(app)] });
}

/** Lines of the alarm trigger (its logger child) among the monitor's lines. */
export const alarmLines = (lines: readonly string[]): string[] => lines.filter((l) => l.includes('alarm table'));

export const COUNTERS = ['Questions', 'Com_stmt_execute', 'Com_stmt_prepare', 'Com_stmt_close', 'Connections'] as const;
export type Counter = (typeof COUNTERS)[number];
export type Counters = Record<Counter, number>;

/** The server's global counters, read by root over the socket (itself one statement). */
export async function readCounters(root: Connection): Promise<Counters> {
  const [rows] = await root.query<RowDataPacket[]>(`SHOW GLOBAL STATUS WHERE Variable_name IN (${COUNTERS.map(() => '?').join(', ')})`, [...COUNTERS]);
  const out = Object.fromEntries(COUNTERS.map((c) => [c, NaN])) as Counters;
  for (const r of rows) {
    const name = String(r['Variable_name']) as Counter;
    if (COUNTERS.includes(name)) out[name] = Number(r['Value']);
  }
  return out;
}

export const counterDelta = (a: Counters, b: Counters): Counters =>
  Object.fromEntries(COUNTERS.map((c) => [c, b[c] - a[c]])) as Counters;

/**
 * Replace both tables' rows with `n` processes: `alarmed` of them (spread evenly) with alarma = 1,
 * the others 0; names `bench-proc-<id>`, which no configured app carries. Returns the alarmed ids.
 */
export async function fillTables(root: Connection, n: number, alarmed: number): Promise<number[]> {
  await root.query(`DELETE FROM ${DB}.STATUS_PROCESS`);
  await root.query(`DELETE FROM ${DB}.PROCESE`);
  const hot = new Set(Array.from({ length: alarmed }, (_, k) => 1 + Math.floor((k * n) / alarmed)));
  for (let from = 1; from <= n; from += 500) {
    const ids = Array.from({ length: Math.min(500, n - from + 1) }, (_, k) => from + k);
    await root.query(`INSERT INTO ${DB}.PROCESE (process_id, process_name) VALUES ?`, [ids.map((id) => [id, `bench-proc-${id}`])]);
    await root.query(`INSERT INTO ${DB}.STATUS_PROCESS (process_id, alarma, sound, notes) VALUES ?`, [ids.map((id) => [id, hot.has(id) ? 1 : 0, 0, null])]);
  }
  return [...hot];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// A full GC before each measured window, so garbage left by the previous part is not collected
// (and billed) inside it; the window's own garbage still is. As bench/probe-clients.ts does.
v8.setFlagsFromString('--expose-gc');
export const fullGc = runInNewContext('gc') as () => void;
